"""Every input has a bound: a walk over every RPC schema of every service.

Each string, list and mapping field (nested ones too) has a maximum — its own or the platform's
default (``alliance_platform.bounds``) — and a value just over it is refused, naming the field.
"""

import pytest
from marshmallow import ValidationError, fields, validate

from alliance_platform.bounds import DEFAULTS, INTEGER_RANGE, effective_bound
from alliance_platform.config import installed_services, service_class

SELF_BOUNDED = (fields.UUID, fields.Boolean, fields.Date, fields.DateTime, fields.Time, fields.Decimal, fields.Float)


def _rpc_schemas():
    for service in installed_services():
        cls = service_class(service)
        for attr in sorted(dir(cls)):
            schema = getattr(getattr(cls, attr), "rpc_schema", None)
            if schema is not None:
                yield f"{service}.{attr}", schema


SCHEMAS = list(_rpc_schemas())


def _walk(schema, path=()):
    for name, field in schema.fields.items():
        yield from _walk_field(field, (*path, name))


def _walk_field(field, path):
    yield path, field
    if isinstance(field, fields.Nested):
        inner = (*path, 0) if field.many else path
        yield from _walk(field.schema, inner)
    elif isinstance(field, fields.List):
        yield from _walk_field(field.inner, (*path, 0))
    elif isinstance(field, fields.Dict) and field.value_field is not None:
        yield from _walk_field(field.value_field, (*path, "key"))


def _too_big(field):
    """A value just outside what ``field`` accepts, or None if its type bounds it."""
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            return "surely-not-one-of-the-choices" if isinstance(field, fields.String) else None
    lengths = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None]
    if lengths:
        n = min(lengths) + 1
        if isinstance(field, (fields.List, fields.Nested)):
            return [None] * n
        if isinstance(field, fields.Dict):
            return {f"k{i}": None for i in range(n)}
        return "x" * n
    ranges = [v for v in field.validators if isinstance(v, validate.Range) and v.max is not None]
    if ranges and isinstance(field, fields.Integer):
        return min(r.max for r in ranges) + 1
    return None


def _place(path, value):
    for key in reversed(path):
        value = [value] if key == 0 else {key: value}
    return value


def _messages_at(messages, path):
    for key in path:
        if not isinstance(messages, dict) or key not in messages:
            return None
        messages = messages[key]
    return messages


@pytest.mark.parametrize(("method", "schema"), SCHEMAS, ids=[m for m, _ in SCHEMAS])
def test_every_field_of_every_rpc_schema_has_a_bound(method, schema):
    unbounded = [
        ".".join(map(str, path))
        for path, field in _walk(schema)
        if not isinstance(field, SELF_BOUNDED)
        and not (isinstance(field, fields.Nested) and not field.many)  # bounded by its own fields
        and effective_bound(field) is None
    ]
    assert unbounded == [], f"{method}: fields without a bound"


@pytest.mark.parametrize(("method", "schema"), SCHEMAS, ids=[m for m, _ in SCHEMAS])
def test_a_value_over_a_fields_bound_is_refused_naming_the_field(method, schema):
    checked = 0
    for path, field in _walk(schema):
        if "key" in path:
            continue  # a mapping's values are checked by the mapping's own tests
        value = _too_big(field)
        if value is None:
            continue
        with pytest.raises(ValidationError) as refused:
            schema.load(_place(path, value))
        assert _messages_at(refused.value.messages, path), f"{method}: {'.'.join(map(str, path))} not refused"
        checked += 1
    assert checked or not schema.fields or all(isinstance(f, SELF_BOUNDED) for f in schema.fields.values())


def test_the_platform_defaults_are_applied_where_a_field_states_none():
    from marshmallow import Schema

    from alliance_platform.bounds import apply_defaults

    class Loose(Schema):
        note = fields.String()
        tags = fields.List(fields.String())
        extra = fields.Dict(keys=fields.String(), values=fields.String())
        count = fields.Integer()
        own = fields.String(validate=validate.Length(max=5))

    schema = apply_defaults(Loose())
    assert effective_bound(schema.fields["note"]) == f"≤ {DEFAULTS['string']} chars"
    assert effective_bound(schema.fields["tags"]) == f"≤ {DEFAULTS['list']} items"
    assert effective_bound(schema.fields["tags"].inner) == f"≤ {DEFAULTS['string']} chars"
    assert effective_bound(schema.fields["extra"]) == f"≤ {DEFAULTS['mapping']} keys"
    assert effective_bound(schema.fields["own"]) == "≤ 5 chars"
    with pytest.raises(ValidationError) as refused:
        schema.load({"count": INTEGER_RANGE[1] + 1, "note": "x" * (DEFAULTS["string"] + 1)})
    assert set(refused.value.messages) == {"count", "note"}
