"""The registry's RPC schemas: the inputs its methods load (unknown arguments are refused,
marshmallow RAISE) and the results they return (what a caller gets is what these dump)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from alliance_contracts.registry import (
    ASSIGNED_ROLES,
    HONOUR_KINDS,
    LANGUAGES,
    MEMBERSHIPS,
    MERCHANT_STATUSES,
    PERSON_ROLES,
)
from alliance_platform.identity import ALL_DISTRICTS
from alliance_platform.inputs import DISTRICT_IDS, DistrictId, Url
from alliance_platform.paging import page_of
from alliance_platform.routes import CALLER_ADDRESS

from .domain.identifiers import valid_credit_code, valid_id_card, valid_mobile
from .domain.organisations import ALLIANCE, MAX_LIAISONS, ORGANISATION_TYPES
from .domain.organisations import CHANGES as ORGANISATION_CHANGES
from .domain.organisations import STATUSES as ORGANISATION_STATUSES
from .domain.pairings import STATUSES as PAIRING_STATUSES
from .domain.people import DEFAULT_LANGUAGE
from .domain.points import KINDS as POINTS_KINDS
from .domain.points import MAX_MANUAL_POINTS
from .domain.points import SOURCES as POINTS_SOURCES
from .domain.roster import REPORT_STATUSES
from .domain.sign_in import CODE_DIGITS
from .domain.systems import DEFAULT_TTL as SYSTEM_DEFAULT_TTL
from .domain.systems import KINDS as SYSTEM_KINDS
from .domain.systems import LONGEST_TTL as SYSTEM_LONGEST_TTL
from .domain.transfers import DECLINE_REASONS, MAX_LETTER_NO, MAX_NOTE
from .domain.transfers import STATES as TRANSFER_STATES
from .domain.transfers import STATUSES as TRANSFER_STATUSES

MAX_PAGE = 100
MAX_AUDIENCE_PAGE = 1000
MAX_ROSTER_BYTES = 20 * 1024 * 1024
MAX_TEAM_NAME = 100  # as long as a child task's unit may be
MAX_ORGANISATION_ID = 100  # a branch's or another organisation's id
MAX_SKILLS = 20


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
    language = fields.String(load_default=DEFAULT_LANGUAGE, validate=validate.OneOf(LANGUAGES))
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


class StartTransfer(Schema):
    """A floating member's transfer (组织关系转接) to ``to_branch_id`` (default: the member's branch)."""

    person_id = fields.UUID(required=True)
    to_branch_id = _text(MAX_ORGANISATION_ID, load_default=None)
    started_on = fields.Date(load_default=None)  # default today
    letter_no = _text(MAX_LETTER_NO, load_default=None)  # 介绍信编号
    note = _text(MAX_NOTE, load_default=None)


class CompleteTransfer(Schema):
    transfer_id = fields.UUID(required=True)
    completed_on = fields.Date(load_default=None)  # default today


class DeclineTransfer(Schema):
    transfer_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS))
    note = _text(MAX_NOTE, load_default=None)


class ListTransfers(Schema):
    """Transfers newest first; ``branch_id``: from or to that branch, ``to_branch_id``: to it."""

    status = fields.String(validate=validate.OneOf(TRANSFER_STATUSES))
    person_id = fields.UUID()
    branch_id = _text(MAX_ORGANISATION_ID)
    to_branch_id = _text(MAX_ORGANISATION_ID)
    limit, cursor = _paging()


# Honours and pairings ---------------------------------------------------------------------------


class AwardHonour(Schema):
    merchant_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(HONOUR_KINDS))
    year = _year(load_default=None)
    stars = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    reason = _text(200, required=True)
    awarded_by = _text(MAX_ORGANISATION_ID, load_default=ALLIANCE)
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


class ListPairings(Schema):
    """A merchant's pairings, or a Party member's (one of the two), ongoing unless ``include_ended``."""

    merchant_id = fields.UUID()
    person_id = fields.UUID()
    include_ended = fields.Boolean(load_default=False)

    @validates_schema
    def _whose(self, data, **kwargs):
        if ("merchant_id" in data) == ("person_id" in data):
            raise ValidationError("name a merchant_id or a person_id", "merchant_id")


class RecordPoints(Schema):
    """An administrator's entry in a Party member's points ledger, or (``corrects``: the entry it
    corrects, of the same member) a correction; never 0 points."""

    person_id = fields.UUID(required=True)
    points = fields.Integer(
        required=True,
        strict=True,
        validate=[
            validate.Range(min=-MAX_MANUAL_POINTS, max=MAX_MANUAL_POINTS),
            validate.NoneOf([0], error="an entry gives or takes at least one point"),
        ],
    )
    reason = _text(200, required=True)
    corrects = fields.UUID(load_default=None)


class MemberPointsRef(Schema):
    person_id = fields.UUID(required=True)
    limit, cursor = _paging()


class RankPoints(Schema):
    """A ranking of Party members by points: of a branch, of a district (the caller's districts
    unless named), from ``from_date`` to ``to_date`` (alliance days, both included; either open)."""

    branch_id = _text(MAX_ORGANISATION_ID)
    district_id = DistrictId()
    from_date = fields.Date(load_default=None)
    to_date = fields.Date(load_default=None)
    limit = fields.Integer(load_default=20, strict=True, validate=validate.Range(min=1, max=MAX_PAGE))


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
    include_retired = fields.Boolean(load_default=False)


# Organisations (组织联建) -------------------------------------------------------------------------

# A new organisation's id: lower-case ASCII words joined by underscores, as the seeded ones are.
ORGANISATION_ID_PATTERN = r"^[a-z][a-z0-9_]{1,99}$"


def _organisation_id(**kwargs):
    return fields.String(
        validate=[
            validate.Length(min=2, max=MAX_ORGANISATION_ID),
            validate.Regexp(ORGANISATION_ID_PATTERN, error="lower-case letters, digits and underscores"),
        ],
        **kwargs,
    )


def _liaisons(**kwargs):
    return fields.List(fields.UUID(), validate=validate.Length(max=MAX_LIAISONS), **kwargs)


def _change_reason():
    return fields.String(load_default=None, validate=validate.Length(max=200))


class AddOrganisation(Schema):
    organisation_id = _organisation_id(required=True)
    type = fields.String(required=True, validate=validate.OneOf(ORGANISATION_TYPES))
    name = _text(100, required=True)
    short_name = _text(30, required=True)
    name_en = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    parent_id = fields.String(load_default=None, validate=validate.Length(min=1, max=MAX_ORGANISATION_ID))
    district_id = DistrictId(load_default=None)
    liaison_ids = _liaisons(load_default=list)


class OrganisationRef(Schema):
    organisation_id = _text(MAX_ORGANISATION_ID, required=True)


class RenameOrganisation(_Changes):
    CHANGE_FIELDS = ("name", "short_name", "name_en")
    organisation_id = _text(MAX_ORGANISATION_ID, required=True)
    name = _text(100)
    short_name = _text(30)
    name_en = _text(200)
    reason = _change_reason()


class MoveOrganisation(Schema):
    organisation_id = _text(MAX_ORGANISATION_ID, required=True)
    parent_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=MAX_ORGANISATION_ID))
    expected_version = fields.Integer(strict=True, validate=validate.Range(min=1))
    reason = _change_reason()


class RetireOrganisation(Schema):
    organisation_id = _text(MAX_ORGANISATION_ID, required=True)
    reason = _text(200, required=True)
    expected_version = fields.Integer(strict=True, validate=validate.Range(min=1))


class SetOrganisationLiaisons(Schema):
    organisation_id = _text(MAX_ORGANISATION_ID, required=True)
    liaison_ids = _liaisons(required=True)
    expected_version = fields.Integer(strict=True, validate=validate.Range(min=1))
    reason = _change_reason()


class OrganisationHistoryRef(Schema):
    organisation_id = _text(MAX_ORGANISATION_ID, required=True)
    limit, cursor = _paging()


AUDIENCE_KINDS = ("districts", "branch_id", "organisation_id", "role", "team", "person_ids", "merchant_ids")


class ResolveAudience(Schema):
    districts = fields.List(DistrictId(), validate=validate.Length(min=1, max=len(DISTRICT_IDS)))
    branch_id = _text(MAX_ORGANISATION_ID)
    organisation_id = _text(MAX_ORGANISATION_ID)  # its liaisons
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


# Signing in -------------------------------------------------------------------------------------

MAX_CLIENT = 100  # an address as the HTTP gateway names its client (an IPv6 one is at most 45)


class RequestSignInCode(Schema):
    mobile = fields.String(required=True, validate=valid_mobile)
    # Over HTTP, the gateway fills it with the caller's address (alliance_platform.routes).
    client = fields.String(
        load_default=None, validate=validate.Length(min=1, max=MAX_CLIENT), metadata={CALLER_ADDRESS: True}
    )


class SignIn(Schema):
    mobile = fields.String(required=True, validate=valid_mobile)
    code = fields.String(
        required=True,
        validate=[
            validate.Length(min=CODE_DIGITS, max=CODE_DIGITS),
            validate.Regexp(rf"^[0-9]{{{CODE_DIGITS}}}$", error=f"the {CODE_DIGITS} digits of the code"),
        ],
    )


# Internal systems and delegation (docs/contract/DELEGATION.md) -----------------------------------


class RegisterSystem(Schema):
    """An internal system and its limits: the methods it may call, whom and where it may act for,
    the longest lifetime of a token it obtains."""

    name = fields.String(required=True, validate=validate.Length(min=2, max=40))
    grants = fields.List(
        fields.String(validate=validate.Length(min=3, max=100)), required=True, validate=validate.Length(min=1, max=100)
    )
    kinds = fields.List(
        fields.String(validate=validate.OneOf(SYSTEM_KINDS)),
        required=True,
        validate=validate.Length(min=1, max=len(SYSTEM_KINDS)),
    )
    districts = fields.List(
        DistrictId(also=(ALL_DISTRICTS,)),
        required=True,
        validate=validate.Length(min=1, max=len(DISTRICT_IDS) + 1),
    )
    max_ttl = fields.Integer(
        load_default=SYSTEM_DEFAULT_TTL, strict=True, validate=validate.Range(min=1, max=SYSTEM_LONGEST_TTL)
    )


class ListSystems(Schema):
    include_revoked = fields.Boolean(load_default=False)


class SystemRef(Schema):
    system_id = fields.UUID(required=True)


class RevokeSystem(Schema):
    system_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ExchangeToken(Schema):
    """A system's credential and the one it acts for: a merchant (its owner acts) or a staff member."""

    credential = fields.String(required=True, validate=validate.Length(min=1, max=200))
    merchant_id = fields.UUID()
    person_id = fields.UUID()
    ttl = fields.Integer(strict=True, validate=validate.Range(min=1, max=SYSTEM_LONGEST_TTL))

    @validates_schema
    def _whom(self, data, **kwargs):
        if ("merchant_id" in data) == ("person_id" in data):
            raise ValidationError("name a merchant_id or a staff member's person_id", "merchant_id")


# Results ----------------------------------------------------------------------------------------
# Every field of a result is present (``required``); ``allow_none`` where the register may hold
# nothing. Days are ISO dates, instants ISO date-times with their offset.


def _id(**kwargs):
    return fields.UUID(required=True, **kwargs)


def _str(**kwargs):
    return fields.String(required=True, **kwargs)


def _maybe(field_class, **kwargs):
    return field_class(required=True, allow_none=True, **kwargs)


def _count():
    return fields.Integer(required=True, validate=validate.Range(min=0))


def _counts():
    return fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(min=0)), required=True)


class District(Schema):
    id = _str()
    name = _str()
    name_en = _str()
    is_alliance_base = fields.Boolean(required=True)


class Organisation(Schema):
    id = _str()
    name = _str()
    name_en = _str()
    type = _str(validate=validate.OneOf(ORGANISATION_TYPES))
    parent_id = _maybe(fields.String)
    district_id = _maybe(fields.String)
    organisation_id = _str()
    short_name = _str()
    status = _str(validate=validate.OneOf(ORGANISATION_STATUSES))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    liaison_ids = fields.List(fields.String(), required=True)
    retired_at = _maybe(fields.AwareDateTime)
    retired_reason = _maybe(fields.String)


class OrganisationState(Schema):
    """An organisation as one version of its history keeps it."""

    organisation_id = _str()
    type = _str()
    name = _str()
    name_en = _str()
    short_name = _str()
    parent_id = _maybe(fields.String)
    district_id = _maybe(fields.String)
    status = _str()
    liaison_ids = fields.List(fields.String(), required=True)


class OrganisationVersion(Schema):
    """One change of an organisation: its version, the change, before (none when added) and after,
    the reason given, who (``kind:subject``) and when."""

    version = fields.Integer(required=True, validate=validate.Range(min=1))
    change = _str(validate=validate.OneOf(ORGANISATION_CHANGES))
    before = fields.Nested(OrganisationState, required=True, allow_none=True)
    after = fields.Nested(OrganisationState, required=True)
    reason = _maybe(fields.String)
    actor = _str()
    at = fields.AwareDateTime(required=True)


class HistoryEntry(Schema):
    """One change: what was done, its details, by whom (``kind:subject``) and when."""

    action = _str()
    details = fields.Dict(required=True)
    actor = _maybe(fields.String)
    at = fields.AwareDateTime(required=True)


class Merchant(Schema):
    merchant_id = _id()
    shop_name = _str()
    district_id = _str()
    unit_no = _maybe(fields.String)
    category = _str()
    credit_code = _str()
    contact_phone = _maybe(fields.String)
    online_shop_url = _maybe(fields.String)
    owner_id = _maybe(fields.UUID)
    status = _str(validate=validate.OneOf(MERCHANT_STATUSES))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    registered_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    history = fields.List(fields.Nested(HistoryEntry))  # with include_history only


class _Membership(Schema):
    branch_id = _str()
    joined_on = fields.Date(required=True)
    membership = _str(validate=validate.OneOf(MEMBERSHIPS))
    floating = fields.Boolean(required=True)
    home_organisation = _maybe(fields.String)
    home_province = _maybe(fields.String)
    activity_card_no = _maybe(fields.String)
    activity_card_issued_on = _maybe(fields.Date)
    arrived_on = _maybe(fields.Date)
    transfer_due_on = _maybe(fields.Date)


class ActivityCard(Schema):
    """The floating member's activity card (流动党员活动证): valid six months from its issue."""

    card_no = _maybe(fields.String)
    issued_on = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    expired = fields.Boolean(required=True)
    days_left = _count()


class Transfer(Schema):
    """A floating member's transfer: started, then completed (the membership moved to
    ``to_branch_id``) or declined with a reason."""

    transfer_id = _id()
    person_id = _id()
    from_branch_id = _str()
    from_district_id = _str()
    to_branch_id = _str()
    to_district_id = _str()
    status = _str(validate=validate.OneOf(TRANSFER_STATUSES))
    started_on = fields.Date(required=True)
    letter_no = _maybe(fields.String)
    note = _maybe(fields.String)
    completed_on = _maybe(fields.Date)
    decline_reason = _maybe(fields.String, validate=validate.OneOf(DECLINE_REASONS))
    decline_note = _maybe(fields.String)
    started_at = fields.AwareDateTime(required=True)
    started_by = _maybe(fields.String)
    closed_at = _maybe(fields.AwareDateTime)
    closed_by = _maybe(fields.String)


class PersonsMembership(_Membership):
    """A person's Party membership as ``get_person`` shows it, with the branch's district; a
    floating member's transfer state (due, not due, or the latest transfer's status), that
    transfer, and the activity card's period."""

    branch_district_id = _str()
    transferred_in_on = _maybe(fields.Date)
    party_age = _count()
    transfer_state = fields.String(allow_none=True, validate=validate.OneOf(TRANSFER_STATES))
    transfer = fields.Nested(Transfer, allow_none=True)
    activity_card = fields.Nested(ActivityCard, allow_none=True)


class Person(Schema):
    person_id = _id()
    name = _str()
    mobile = _str()
    id_card_no = _maybe(fields.String)  # masked, except for an administrator reading one person
    roles = fields.List(fields.String(validate=validate.OneOf(PERSON_ROLES)), required=True)
    skills = fields.List(fields.String(), required=True)
    teams = fields.List(fields.String(), required=True)
    language = _str(validate=validate.OneOf(LANGUAGES))
    district_id = _maybe(fields.String)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    registered_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    party_member = fields.Nested(PersonsMembership, allow_none=True)  # get_person only
    history = fields.List(fields.Nested(HistoryEntry))  # with include_history only


class PartyMember(_Membership):
    """A Party member as registered: the branch's district, the registration and the party age."""

    person_id = _id()
    district_id = _str()
    registered_at = fields.AwareDateTime(required=True)
    party_age = _count()


class TransferIn(_Membership):
    """A floating member's membership once the transfer in is recorded."""

    person_id = _id()
    branch_district_id = _str()
    transferred_in_on = fields.Date(required=True)


class Honour(Schema):
    honour_id = _id()
    merchant_id = _id()
    district_id = _str()
    kind = _str(validate=validate.OneOf(HONOUR_KINDS))
    year = _maybe(fields.Integer)
    stars = _maybe(fields.Integer, validate=validate.Range(min=1, max=5))
    reason = _str()
    awarded_by = _str()
    awarded_on = fields.Date(required=True)
    awarded_at = fields.AwareDateTime(required=True)
    revoked_at = _maybe(fields.AwareDateTime)
    revoked_reason = _maybe(fields.String)


class PointsEntry(Schema):
    """One entry of a member's points ledger: never changed; ``corrects_id`` names the entry a
    correction corrects; ``source``, where the points come from (a fact of another service, as
    ``service.event_type``, or ``manual``), ``source_event_id`` and ``source_entity_id`` the fact."""

    entry_id = _id()
    person_id = _id()
    points = fields.Integer(required=True)
    kind = _str(validate=validate.OneOf(POINTS_KINDS))
    rule = _maybe(fields.String)
    source = _str(validate=validate.OneOf(POINTS_SOURCES))
    source_event_id = _maybe(fields.String)
    source_entity_id = _maybe(fields.String)
    reason = _str()
    branch_id = _str()
    district_id = _str()
    corrects_id = _maybe(fields.UUID)
    created_at = fields.AwareDateTime(required=True)
    actor = _str()


class RecordedPoints(PointsEntry):
    """The entry recorded, and the member's balance with it."""

    balance = fields.Integer(required=True)


class MemberPoints(Schema):
    """A member's balance (``entries`` make it) and a page of their entries, newest first."""

    person_id = _id()
    branch_id = _str()
    balance = fields.Integer(required=True)
    entries = _count()
    items = fields.List(fields.Nested(PointsEntry), required=True)
    next_cursor = _maybe(fields.String)


class RankedMember(Schema):
    rank = fields.Integer(required=True, validate=validate.Range(min=1))
    person_id = _id()
    name = _str()
    branch_id = _str()  # the member's branch now
    points = fields.Integer(required=True)
    entries = _count()


class PointsRanking(Schema):
    """Members by the points of the period, most first; equal points share a rank (1, 1, 3)."""

    branch_id = _maybe(fields.String)
    district_id = _maybe(fields.String)
    from_date = _maybe(fields.Date)
    to_date = _maybe(fields.Date)
    items = fields.List(fields.Nested(RankedMember), required=True)


class Pairing(Schema):
    pairing_id = _id()
    person_id = _id()
    merchant_id = _id()
    district_id = _str()
    started_on = fields.Date(required=True)
    ended_on = _maybe(fields.Date)
    end_reason = _maybe(fields.String)
    note = _maybe(fields.String)
    status = _str(validate=validate.OneOf(PAIRING_STATUSES))


class Contact(Schema):
    """Whom to notify: a merchant (its contact phone, else its owner's mobile; the owner's
    language) or a person."""

    kind = _str(validate=validate.OneOf(("merchant", "person")))
    id = _id()
    name = _str()
    mobile = _maybe(fields.String)
    language = _str(validate=validate.OneOf(LANGUAGES))
    district_id = _maybe(fields.String)
    person_id = _maybe(fields.UUID)


class Audience(Schema):
    contacts = fields.List(fields.Nested(Contact), required=True)
    next_cursor = _maybe(fields.String)
    unknown_ids = fields.List(fields.UUID(), required=True)  # ids asked for that the register lacks


class Stats(Schema):
    as_of = fields.AwareDateTime(required=True)
    merchants_by_district = fields.Dict(keys=fields.String(), values=_counts(), required=True)
    merchants_by_category = _counts()
    people_by_role = _counts()
    honours_by_kind = _counts()
    floating_members = _count()
    floating_members_due_for_transfer = _count()
    transfers_started = fields.Integer(validate=validate.Range(min=0))  # open now
    transfers_declined = fields.Integer(validate=validate.Range(min=0))


class ImportReport(Schema):
    status = _str(validate=validate.OneOf(REPORT_STATUSES))
    rows = _count()
    created = _count()
    updated = _count()
    unchanged = _count()
    owners_registered = _count()


class IdCardKey(Schema):
    key_id = fields.Integer(required=True, validate=validate.Range(min=1, max=255))
    # current: seals; retiring: older, its numbers are being re-sealed under the current key;
    # incoming: newer, held to read only; unknown: numbers under a key this instance does not hold
    state = _str(validate=validate.OneOf(["current", "retiring", "incoming", "unknown"]))
    numbers = _count()


class IdCardKeys(Schema):
    """Where the ID-card key rotation stands, as the answering registry instance holds the keys."""

    as_of = fields.AwareDateTime(required=True)
    current_key_id = fields.Integer(required=True, validate=validate.Range(min=1, max=255))
    keys = fields.List(fields.Nested(IdCardKey), required=True)
    to_reseal = _count()  # numbers under retiring keys
    unreadable = _count()  # numbers under keys this instance does not hold
    done = fields.Boolean(required=True)  # every number under the current key
    # retiring keys no number uses any more: remove them from REGISTRY_ID_CARD_KEYS_PREVIOUS
    remove_from_config = fields.List(fields.Integer(), required=True)


class SignInCodeSent(Schema):
    """The same answer for every mobile: whether a code went to it is not told."""

    sent = fields.Boolean(required=True)
    expires_in_seconds = _count()
    resend_after_seconds = _count()


class SignedIn(Schema):
    """The token of the person who signed in (kind staff), with what it says of them."""

    token = _str()
    expires_at = fields.AwareDateTime(required=True)
    person_id = _id()
    name = _str()
    roles = fields.List(fields.String(), required=True)
    districts = fields.List(fields.String(), required=True)


class System(Schema):
    """An internal system's registration (never its credential, which is shown once)."""

    system_id = _id()
    name = _str()
    grants = fields.List(fields.String(), required=True)
    kinds = fields.List(fields.String(validate=validate.OneOf(SYSTEM_KINDS)), required=True)
    districts = fields.List(fields.String(), required=True)
    max_ttl = fields.Integer(required=True, validate=validate.Range(min=1))
    credential_issued_at = fields.AwareDateTime(required=True)
    registered_at = fields.AwareDateTime(required=True)
    registered_by = _str()
    revoked_at = _maybe(fields.AwareDateTime)
    revoked_by = _maybe(fields.String)
    revoked_reason = _maybe(fields.String)


class SystemCredential(System):
    """A registration with its new credential: shown this once, kept by nobody but the system."""

    credential = _str()


class ExchangedToken(Schema):
    """RFC 8693's answer: the person's token, with what it says (and who acts under which grant)."""

    token = _str()
    token_type = _str(validate=validate.Equal("Bearer"))
    issued_token_type = _str()
    expires_in = fields.Integer(required=True, validate=validate.Range(min=1))
    expires_at = fields.AwareDateTime(required=True)
    kind = _str(validate=validate.OneOf(SYSTEM_KINDS))
    subject = _str()
    merchant_id = _maybe(fields.String)
    roles = fields.List(fields.String(), required=True)
    districts = fields.List(fields.String(), required=True)
    grants = fields.List(fields.String(), required=True)
    actor = _str()
    delegation = _str()


MerchantPage = page_of(Merchant)
PersonPage = page_of(Person)
HonourPage = page_of(Honour)
OrganisationHistory = page_of(OrganisationVersion)
TransferPage = page_of(Transfer)
