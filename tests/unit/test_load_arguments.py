import pytest
from marshmallow import Schema, fields

from alliance_platform.entrypoints import load_arguments
from alliance_platform.errors import ValidationError


class Pair(Schema):
    left = fields.Integer(required=True)
    right = fields.String(load_default="r")


def test_keyword_and_positional_arguments_load_in_field_order():
    assert load_arguments(Pair(), (1,), {"right": "x"}) == {"left": 1, "right": "x"}
    assert load_arguments(Pair(), (), {"left": "2"}) == {"left": 2, "right": "r"}


@pytest.mark.parametrize(
    "args, kwargs, field",
    [
        ((), {}, "left"),
        ((), {"left": 1, "extra": 2}, "extra"),
        ((1, "x", 3), {}, "_args"),
        ((1,), {"left": 1}, "left"),
        ((), {"left": "one"}, "left"),
    ],
)
def test_bad_arguments_name_the_field(args, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        load_arguments(Pair(), args, kwargs)
    assert field in caught.value.fields


def test_a_method_without_schema_takes_no_arguments():
    assert load_arguments(None, (), {}) is None
    with pytest.raises(ValidationError):
        load_arguments(None, (1,), {})
