"""Input schemas and fields more than one service's RPC methods take."""

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# The alliance's three business districts (商圈), by the ids every service uses. The districts are
# fixed facts of the alliance, not data callers add: this tuple is the one list that inputs are
# checked against; the registry's ``districts`` table holds the same ids with their names (seeded
# by its first migration; a test keeps the two equal).
DISTRICT_IDS = ("wholesale_city", "aodele", "outlets")

# Times a caller may name for the alliance's business (activities, evaluations, periods): the
# platform's arithmetic on them (series of dates, durations) then stays inside the calendar.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# A URL callers store (a shop's online store, an attachment): the length browsers and servers
# reliably handle.
MAX_URL_LENGTH = 2048


def _with(own, kwargs):
    """``own`` validators followed by any the field's user adds."""
    extra = kwargs.pop("validate", None)
    if extra is None:
        return own
    return [*own, *(extra if isinstance(extra, list | tuple) else [extra])]


class DistrictId(fields.String):
    """The id of one of the alliance's districts; any other is a ``ValidationError`` on the field.
    ``also``: further values the field takes (an administrator's "*" for every district)."""

    def __init__(self, also=(), **kwargs):
        one_of = validate.OneOf((*DISTRICT_IDS, *also), error="no district {input!r}; the districts are {choices}")
        super().__init__(validate=_with([one_of], kwargs), **kwargs)


class Moment(fields.AwareDateTime):
    """A time with its zone, between ``EARLIEST`` and ``LATEST``."""

    def __init__(self, **kwargs):
        within = validate.Range(
            min=EARLIEST, max=LATEST, max_inclusive=False, error="must lie between 2000-01-01 and 2100-01-01"
        )
        super().__init__(validate=_with([within], kwargs), **kwargs)


class Url(fields.Url):
    """An http(s) URL of at most ``MAX_URL_LENGTH`` characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("schemes", {"http", "https"})
        super().__init__(validate=_with([validate.Length(max=MAX_URL_LENGTH)], kwargs), **kwargs)


class Period(Schema):
    """A period ``since`` (included) ``until`` (excluded), both with a time zone."""

    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["until"] <= data["since"]:
            raise ValidationError("until must be after since", "until")
