"""Input schemas of the events service's RPC methods."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from alliance_platform.identity import ROLES
from alliance_platform.inputs import DISTRICT_IDS, DistrictId, Moment
from alliance_platform.paging import PageSchema

from .domain import AUDIENCES, STATES, TYPES

_title = validate.Length(min=1, max=200)
_text = validate.Length(min=1, max=4000)
_reason = validate.Length(min=1, max=1000)
_name = validate.Length(min=1, max=100)  # an organiser's or a partner's name or id
MAX_ORGANISERS = 10
MAX_PARTNERS = 20
MAX_THEME_TAGS = 10
MAX_CAPACITY = 100_000


def _partners(**kwargs):
    return fields.List(fields.String(validate=_name), validate=validate.Length(max=MAX_PARTNERS), **kwargs)


def _theme_tags(**kwargs):
    tag = fields.String(validate=validate.Length(min=1, max=40))
    return fields.List(tag, validate=validate.Length(max=MAX_THEME_TAGS), **kwargs)


def _quotas(**kwargs):
    """Seats reserved per district: at most one entry per district."""
    seats = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_CAPACITY))
    return fields.Dict(keys=DistrictId(), values=seats, **kwargs)


class Audience(Schema):
    kinds = fields.List(
        fields.String(validate=validate.OneOf(AUDIENCES)),
        required=True,
        validate=validate.Length(min=1, max=len(AUDIENCES)),
    )
    districts = fields.List(DistrictId(), load_default=list, validate=validate.Length(max=len(DISTRICT_IDS)))


class EvaluationSettings(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(["star_party_member_merchant", "party_member_model_store"])
    )
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2020, max=2100))
    winners = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    stars = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    voter_roles = fields.List(
        fields.String(validate=validate.OneOf(sorted(ROLES))),
        required=True,
        validate=validate.Length(min=1, max=len(ROLES)),
    )
    voting_opens_at = Moment(required=True)
    voting_closes_at = Moment(required=True)

    @validates_schema
    def consistent(self, data, **kwargs):
        if data["voting_closes_at"] <= data["voting_opens_at"]:
            raise ValidationError("must be after voting_opens_at", "voting_closes_at")
        if (data["kind"] == "star_party_member_merchant") != (data["stars"] is not None):
            raise ValidationError("stars are given for, and only for, star Party-member merchants", "stars")


class ActivityFields(Schema):
    title = fields.String(required=True, validate=_title)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    description = fields.String(required=True, validate=_text)
    organisers = fields.List(
        fields.String(validate=_name), required=True, validate=validate.Length(min=1, max=MAX_ORGANISERS)
    )
    partners = _partners(load_default=list)
    venue = fields.String(required=True, validate=_title)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    registration_opens_at = Moment(required=True)
    registration_closes_at = Moment(required=True)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_CAPACITY))
    quotas = _quotas(load_default=dict)
    audience = fields.Nested(Audience, required=True)
    theme_tags = _theme_tags(load_default=list)
    evaluation = fields.Nested(EvaluationSettings, load_default=None)


class CreateSeries(ActivityFields):
    """The first occurrence's fields, the weekdays (0 = Monday) it recurs on and its last day;
    at most ``domain.MAX_SERIES_DATES`` dates."""

    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0, max=6)),
        required=True,
        validate=validate.Length(min=1, max=7),
    )
    until = fields.Date(required=True)


class ActivityRef(Schema):
    activity_id = fields.UUID(required=True)


class UpdateActivity(ActivityRef):
    title = fields.String(validate=_title)
    description = fields.String(validate=_text)
    venue = fields.String(validate=_title)
    starts_at = Moment()
    ends_at = Moment()
    registration_opens_at = Moment()
    registration_closes_at = Moment()
    capacity = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_CAPACITY))
    quotas = _quotas()
    partners = _partners()
    theme_tags = _theme_tags()

    @validates_schema
    def something(self, data, **kwargs):
        if len(data) == 1:
            raise ValidationError("nothing to change", "activity_id")


class PublishActivity(ActivityRef):
    override_reason = fields.String(load_default=None, validate=_reason)


class CancelActivity(ActivityRef):
    reason = fields.String(required=True, validate=_reason)


class ListActivities(PageSchema):
    district_id = DistrictId(load_default=None)
    type = fields.String(load_default=None, validate=validate.OneOf(TYPES))
    status = fields.String(load_default=None, validate=validate.OneOf(STATES))
    starts_after = fields.AwareDateTime(load_default=None)
    starts_before = fields.AwareDateTime(load_default=None)
    open_for_registration = fields.Boolean(load_default=False)


class Register(ActivityRef):
    person_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    merchant_id = fields.UUID(load_default=None)
    district_id = DistrictId(load_default=None)
    child_name = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    child_age = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=3, max=16))

    @validates_schema
    def child(self, data, **kwargs):
        if (data["child_name"] is None) != (data["child_age"] is None):
            raise ValidationError("a child's name and age go together", "child_age")


class RegistrationRef(Schema):
    registration_id = fields.UUID(required=True)


class ListRegistrations(Schema):
    activity_id = fields.UUID(load_default=None)


class CheckIn(ActivityRef):
    code = fields.String(required=True, validate=validate.Length(min=4, max=20))


class Nominate(ActivityRef):
    merchant_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=_reason)


class Vote(ActivityRef):
    merchant_id = fields.UUID(required=True)
