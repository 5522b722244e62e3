"""A walk over every RPC schema of every service (nested schemas too): a field that names a
district takes only the alliance's districts (the platform's ``DistrictId``), and a field that
names a status, type, kind, role or another fixed vocabulary takes only that vocabulary's values.
A filter with a mistyped value is then a ValidationError naming the field, never an empty answer."""

import pytest
from marshmallow import fields, validate

from alliance_platform.config import installed_services, service_class
from alliance_platform.inputs import DistrictId

DISTRICT_FIELDS = {"district_id", "district", "districts"}
VOCABULARY_FIELDS = {"status", "type", "kind", "role", "roles", "handling_mode", "membership", "language", "urgency"}
VOCABULARY_FIELDS |= {"format", "channel", "channels", "kinds", "voter_roles", "honour", "weekdays"}
# Vocabularies that are a service's configuration rather than code, checked by the use case.
CHECKED_BY_THE_USE_CASE = {
    "notifications.set_preferences.channels": "{category: {channel: bool}}, checked by check_preferences",
}


def _walk(schema, path):
    for name, field in schema.fields.items():
        yield f"{path}.{name}", name, field
        if isinstance(field, fields.Nested):
            yield from _walk(field.schema, f"{path}.{name}")


def _fields():
    for service in installed_services():
        cls = service_class(service)
        for attr in sorted(dir(cls)):
            schema = getattr(getattr(cls, attr), "rpc_schema", None)
            if schema is not None:
                yield from _walk(schema, f"{service}.{attr}")


FIELDS = list(_fields())


def _item(field):
    return field.inner if isinstance(field, fields.List) else field


def _closed(field):
    """Whether ``field`` (or each item of a list) admits only a fixed set of values."""
    item = _item(field)
    validators = item.validators
    return any(isinstance(v, validate.OneOf | validate.Range) for v in validators) or isinstance(item, DistrictId)


@pytest.mark.parametrize("path", [p for p, name, _ in FIELDS if name in DISTRICT_FIELDS])
def test_a_field_naming_a_district_takes_only_the_alliance_s_districts(path):
    field = next(f for p, _, f in FIELDS if p == path)
    assert isinstance(_item(field), DistrictId), f"{path} is a {type(_item(field)).__name__}"


@pytest.mark.parametrize("path", [p for p, name, _ in FIELDS if name in VOCABULARY_FIELDS])
def test_a_field_naming_a_vocabulary_takes_only_its_values(path):
    field = next(f for p, _, f in FIELDS if p == path)
    assert _closed(field) or path in CHECKED_BY_THE_USE_CASE, f"{path} takes any value"


def test_quotas_are_keyed_by_the_alliance_s_districts():
    quotas = [f for p, name, f in FIELDS if name == "quotas"]
    assert quotas and all(isinstance(f.key_field, DistrictId) for f in quotas)
