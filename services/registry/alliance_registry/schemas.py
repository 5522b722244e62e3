"""Input schemas of the registry's RPC methods. Unknown arguments are refused (marshmallow RAISE)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from alliance_contracts.registry import HONOUR_KINDS, LANGUAGES, MEMBERSHIPS, MERCHANT_STATUSES, PERSON_ROLES
from alliance_platform.inputs import DISTRICT_IDS, DistrictId, Url
from alliance_registry.identifiers import is_valid_credit_code, is_valid_id_card, is_valid_mobile

# Roles a caller assigns; ``merchant_owner`` and ``party_member`` follow from the register itself
# (owning a merchant, being registered as a Party member) and are kept by the service.
ASSIGNED_ROLES = ("staff", "volunteer", "department_liaison", "branch_secretary")
ORGANISATION_TYPES = (
    "alliance",
    "party_branch",
    "street_committee",
    "government_department",
    "bank",
    "education_institution",
    "enterprise",
)
MAX_PAGE = 100
MAX_AUDIENCE_PAGE = 1000
MAX_ROSTER_BYTES = 20 * 1024 * 1024
MAX_TEAM_NAME = 100  # as long as a child task's unit may be
MAX_ORGANISATION_ID = 100  # a branch's or another organisation's id
MAX_SKILLS = 20


def valid_credit_code(value):
    if not is_valid_credit_code(value):
        raise ValidationError("not a valid unified social credit code (18 characters, check character)")


def valid_mobile(value):
    if not is_valid_mobile(value):
        raise ValidationError("not a valid mainland mobile number (11 digits starting 13-19)")


def valid_id_card(value):
    if not is_valid_id_card(value):
        raise ValidationError("not a valid ID-card number (18 characters, birth date, check character)")


def _text(max_length, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _year(**kwargs):
    """The year of an honour: the alliance's years, no other."""
    return fields.Integer(strict=True, validate=validate.Range(min=2000, max=2100), **kwargs)


def _roles(**kwargs):
    """The roles a caller assigns: no more entries than there are roles."""
    role = fields.String(validate=validate.OneOf(ASSIGNED_ROLES))
    return fields.List(role, validate=validate.Length(max=len(ASSIGNED_ROLES)), **kwargs)


def _paging(maximum=MAX_PAGE, default=20):
    """``limit, cursor``: a page of at most ``limit`` results, after the previous page's ``next_cursor``."""
    return (
        fields.Integer(load_default=default, strict=True, validate=validate.Range(min=1, max=maximum)),
        fields.String(load_default=None, validate=validate.Length(max=200)),
    )


class _Changes(Schema):
    """An update: the fields to change and, optionally, the version the caller last read."""

    expected_version = fields.Integer(strict=True, validate=validate.Range(min=1))
    CHANGE_FIELDS = ()

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if not set(data) & set(self.CHANGE_FIELDS):
            raise ValidationError(f"name at least one of {', '.join(self.CHANGE_FIELDS)}", "_schema")


# Merchants --------------------------------------------------------------------------------------


class RegisterMerchant(Schema):
    shop_name = _text(100, required=True)
    district_id = DistrictId(required=True)
    unit_no = fields.String(load_default=None, validate=validate.Length(max=40))
    category = _text(40, required=True)
    credit_code = fields.String(required=True, validate=valid_credit_code)
    contact_phone = fields.String(load_default=None, validate=valid_mobile)
    online_shop_url = Url(load_default=None)
    owner_id = fields.UUID(load_default=None)


class UpdateMerchant(_Changes):
    CHANGE_FIELDS = ("shop_name", "district_id", "unit_no", "category", "contact_phone", "online_shop_url", "owner_id")

    merchant_id = fields.UUID(required=True)
    shop_name = _text(100)
    district_id = DistrictId()
    unit_no = fields.String(allow_none=True, validate=validate.Length(max=40))
    category = _text(40)
    contact_phone = fields.String(allow_none=True, validate=valid_mobile)
    online_shop_url = Url(allow_none=True)
    owner_id = fields.UUID(allow_none=True)


class SetMerchantStatus(Schema):
    merchant_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(MERCHANT_STATUSES))
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


class MerchantRef(Schema):
    merchant_id = fields.UUID(required=True)
    include_history = fields.Boolean(load_default=False)


class SearchMerchants(Schema):
    name = _text(50)
    phone = fields.String(validate=valid_mobile)
    credit_code = fields.String(validate=valid_credit_code)
    district_id = DistrictId()
    category = _text(40)
    honour = fields.String(validate=validate.OneOf(HONOUR_KINDS))
    status = fields.String(validate=validate.OneOf(MERCHANT_STATUSES))
    owner_id = fields.UUID()
    limit, cursor = _paging()


# People -----------------------------------------------------------------------------------------


class RegisterPerson(Schema):
    name = _text(50, required=True)
    mobile = fields.String(required=True, validate=valid_mobile)
    id_card_no = fields.String(load_default=None, validate=valid_id_card)
    roles = _roles(load_default=list)
    skills = fields.List(_text(40), load_default=list, validate=validate.Length(max=MAX_SKILLS))
    # The teams demands are routed to (the tickets service's ROUTING_RULES name them).
    teams = fields.List(_text(MAX_TEAM_NAME), load_default=list, validate=validate.Length(max=20))
    language = fields.String(load_default="zh-CN", validate=validate.OneOf(LANGUAGES))
    district_id = DistrictId(load_default=None)


class UpdatePerson(_Changes):
    CHANGE_FIELDS = ("name", "mobile", "id_card_no", "roles", "skills", "teams", "language", "district_id")

    person_id = fields.UUID(required=True)
    name = _text(50)
    mobile = fields.String(validate=valid_mobile)
    id_card_no = fields.String(allow_none=True, validate=valid_id_card)
    roles = _roles()
    skills = fields.List(_text(40), validate=validate.Length(max=MAX_SKILLS))
    teams = fields.List(_text(MAX_TEAM_NAME), validate=validate.Length(max=20))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    district_id = DistrictId(allow_none=True)


class PersonRef(Schema):
    person_id = fields.UUID(required=True)
    include_history = fields.Boolean(load_default=False)


class SearchPeople(Schema):
    name = _text(50)
    mobile = fields.String(validate=valid_mobile)
    id_card_no = fields.String(validate=valid_id_card)
    role = fields.String(validate=validate.OneOf(PERSON_ROLES))
    skill = _text(40)
    district_id = DistrictId()
    limit, cursor = _paging()


# Party members ----------------------------------------------------------------------------------


class Floating(Schema):
    home_organisation = _text(100, required=True)
    home_province = _text(20, required=True)
    activity_card_no = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    activity_card_issued_on = fields.Date(load_default=None)
    arrived_on = fields.Date(required=True)


class RegisterPartyMember(Schema):
    person_id = fields.UUID(required=True)
    branch_id = _text(MAX_ORGANISATION_ID, required=True)
    joined_on = fields.Date(required=True)
    membership = fields.String(load_default="full", validate=validate.OneOf(MEMBERSHIPS))
    floating = fields.Nested(Floating, load_default=None)


class RecordTransferIn(Schema):
    person_id = fields.UUID(required=True)
    transferred_on = fields.Date(load_default=None)


# Honours and pairings ---------------------------------------------------------------------------


class AwardHonour(Schema):
    merchant_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(HONOUR_KINDS))
    year = _year(load_default=None)
    stars = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    reason = _text(200, required=True)
    awarded_by = _text(MAX_ORGANISATION_ID, load_default="alliance")
    awarded_on = fields.Date(load_default=None)


class RevokeHonour(Schema):
    honour_id = fields.UUID(required=True)
    reason = _text(200, required=True)


class ListHonours(Schema):
    merchant_id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(HONOUR_KINDS))
    year = _year()
    include_revoked = fields.Boolean(load_default=False)
    limit, cursor = _paging()


class StartPairing(Schema):
    person_id = fields.UUID(required=True)
    merchant_id = fields.UUID(required=True)
    started_on = fields.Date(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=200))


class EndPairing(Schema):
    pairing_id = fields.UUID(required=True)
    ended_on = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


# Directory, audiences, statistics, imports ------------------------------------------------------


class ListOrganisations(Schema):
    type = fields.String(validate=validate.OneOf(ORGANISATION_TYPES))
    parent_id = _text(MAX_ORGANISATION_ID)  # an organisation the register has (else a ValidationError)


AUDIENCE_KINDS = ("districts", "branch_id", "role", "team", "person_ids", "merchant_ids")


class ResolveAudience(Schema):
    districts = fields.List(DistrictId(), validate=validate.Length(min=1, max=len(DISTRICT_IDS)))
    branch_id = _text(MAX_ORGANISATION_ID)
    role = fields.String(validate=validate.OneOf(PERSON_ROLES))
    team = _text(MAX_TEAM_NAME)
    person_ids = fields.List(fields.UUID(), validate=validate.Length(min=1, max=MAX_AUDIENCE_PAGE))
    merchant_ids = fields.List(fields.UUID(), validate=validate.Length(min=1, max=MAX_AUDIENCE_PAGE))
    limit, cursor = _paging(MAX_AUDIENCE_PAGE, default=500)

    @validates_schema
    def _exactly_one_audience(self, data, **kwargs):
        named = [kind for kind in AUDIENCE_KINDS if kind in data]
        if len(named) != 1:
            raise ValidationError(f"name exactly one audience: {', '.join(AUDIENCE_KINDS)}", "_schema")


class ImportMerchants(Schema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ROSTER_BYTES * 4 // 3 + 4))
    format = fields.String(required=True, validate=validate.OneOf(("csv", "xlsx")))
    dry_run = fields.Boolean(load_default=False)
