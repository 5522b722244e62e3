"""Every input has a bound: the platform's default limits, applied to every RPC schema.

A string, list or mapping field of an RPC schema that states no limit of its own gets the
platform's default (``DEFAULTS``); an integer without a range gets the range PostgreSQL's
``bigint`` can store. Fields state their own limits where a natural one differs (a URL, a title, a
list of attachments). ``effective_bound`` says what a field accepts, for the contract and for the
test that walks every schema. Whole messages are bounded too (``MAX_REQUEST_BYTES``, per method
``rpc(max_request_bytes=...)``): an oversized request is refused before its body is parsed.
"""

from marshmallow import fields, validate

DEFAULTS = {"string": 2000, "list": 100, "mapping": 50}
INTEGER_RANGE = (-(2**63), 2**63 - 1)
MAX_REQUEST_BYTES = 1024 * 1024  # a whole RPC request, unless the method says otherwise
MAX_EVENT_BYTES = 1024 * 1024  # a whole event message

# Fields whose value set is bounded by their type.
_SELF_BOUNDED = (fields.UUID, fields.Boolean, fields.Date, fields.DateTime, fields.Time, fields.Decimal)


def _has(field, *kinds):
    return any(isinstance(v, kinds) for v in field.validators)


def _length_max(field):
    return min((v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None), default=None)


def apply_defaults(schema):
    """Give every field of ``schema`` (nested ones too) that states no bound the platform default."""
    for field in schema.fields.values():
        _bound(field)
    return schema


def _bound(field):
    if isinstance(field, fields.Nested):
        if field.many and _length_max(field) is None:
            field.validators.append(validate.Length(max=DEFAULTS["list"]))
        apply_defaults(field.schema)
    elif isinstance(field, fields.List):
        if _length_max(field) is None:
            field.validators.append(validate.Length(max=DEFAULTS["list"]))
        _bound(field.inner)
    elif isinstance(field, fields.Tuple):
        for inner in field.tuple_fields:
            _bound(inner)
    elif isinstance(field, fields.Dict):
        if _length_max(field) is None:
            field.validators.append(validate.Length(max=DEFAULTS["mapping"]))
        for inner in (field.key_field, field.value_field):
            if inner is not None:
                _bound(inner)
    elif isinstance(field, _SELF_BOUNDED):
        return
    elif isinstance(field, fields.String):
        if _length_max(field) is None and not _has(field, validate.OneOf, validate.Equal):
            field.validators.append(validate.Length(max=DEFAULTS["string"]))
    elif isinstance(field, fields.Integer) and not _has(field, validate.Range, validate.OneOf):
        field.validators.append(validate.Range(*INTEGER_RANGE))


def effective_bound(field):
    """What ``field`` accepts, in a few words: "≤ 200 chars", "≤ 20 items", "1–5", "one of …"."""
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            return "one of " + ", ".join(f"`{c}`" for c in v.choices)
    length = [v for v in field.validators if isinstance(v, validate.Length)]
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    unit = (
        "items"
        if isinstance(field, (fields.List, fields.Nested))
        else "keys"
        if isinstance(field, fields.Dict)
        else "chars"
    )
    if length:
        low = max((v.min or 0 for v in length), default=0)
        high = min(v.max for v in length if v.max is not None)
        return f"{low}–{high} {unit}" if low else f"≤ {high} {unit}"
    if ranges:
        r = ranges[0]
        if (r.min, r.max) == INTEGER_RANGE:
            return "64-bit"
        return (
            f"{r.min}–{r.max}"
            if r.min is not None and r.max is not None
            else f"≥ {r.min}"
            if r.max is None
            else f"≤ {r.max}"
        )
    return None
