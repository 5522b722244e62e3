"""Events published by the registry service (merchants, people, Party members, honours, pairings).

Payloads never carry ID-card numbers. Events about an aggregate that changes (merchants, people)
carry its ``version``, which grows by one with each change: handlers run concurrently, so a read
model keeps the highest version it has seen instead of trusting arrival order.
"""

from marshmallow import Schema, fields, validate

from . import event_contract

MERCHANT_STATUSES = ("active", "suspended", "closed")
# A person's roles: two follow from the register itself (owning a merchant, being registered as a
# Party member), the others are assigned by whoever keeps the record.
IMPLIED_ROLES = ("merchant_owner", "party_member")
ASSIGNED_ROLES = ("staff", "volunteer", "department_liaison", "branch_secretary")
PERSON_ROLES = IMPLIED_ROLES + ASSIGNED_ROLES
LANGUAGES = ("zh-CN", "en")
# The kinds of organisation the register holds, and whether one is still in use.
ORGANISATION_TYPES = (
    "alliance",
    "party_branch",
    "street_committee",
    "government_department",
    "bank",
    "education_institution",
    "enterprise",
)
ORGANISATION_STATUSES = ("active", "retired")
# The partners demands are referred to (转办): departments, banks, third-party institutions, enterprises.
PARTNER_ORGANISATION_TYPES = ("government_department", "bank", "education_institution", "enterprise")
MEMBERSHIPS = ("full", "probationary")
HONOUR_KINDS = ("star_party_member_merchant", "party_member_model_store", "party_member_business_plaque")
# A Party member's points entry: given by a rule for another fact, by an administrator's hand, or
# correcting an earlier entry; and where its points come from (a fact as service.event_type).
POINTS_KINDS = ("award", "manual", "correction")
POINTS_SOURCES = (
    "events.checked_in",
    "tickets.ticket_closed",
    "registry.pairing_ended",
    "manual",
    "events.no_shows_recorded",
    "events.meeting_held",
)

_MERCHANT = {
    "merchant_id": "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f",
    "shop_name": "鑫盛五金批发部",
    "district_id": "wholesale_city",
    "unit_no": "B2-117",
    "category": "五金建材",
    "credit_code": "91371400MA3C8XYZ1K",
    "contact_phone": "13912345678",
    "online_shop_url": None,
    "status": "active",
}
_PERSON = {
    "person_id": "8d1f4e0a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
    "name": "王建国",
    "mobile": "13812345678",
    "roles": ["merchant_owner", "party_member"],
    "skills": ["电商运营"],
    "language": "zh-CN",
    "district_id": "wholesale_city",
    "has_id_card": True,
}


@event_contract(
    "registry",
    "merchant_registered",
    examples=[{**_MERCHANT, "registered_at": "2026-03-01T09:30:00+00:00"}],
)
class MerchantRegistered(Schema):
    """A merchant joined the register of one of the three business districts."""

    merchant_id = fields.String(required=True)
    shop_name = fields.String(required=True, validate=validate.Length(min=1))
    district_id = fields.String(required=True)
    unit_no = fields.String(required=True, allow_none=True)
    category = fields.String(required=True)
    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    contact_phone = fields.String(required=True, allow_none=True)
    online_shop_url = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(MERCHANT_STATUSES))
    registered_at = fields.AwareDateTime(required=True)


class _MerchantState(Schema):
    merchant_id = fields.String(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    shop_name = fields.String(required=True, validate=validate.Length(min=1))
    district_id = fields.String(required=True)
    unit_no = fields.String(required=True, allow_none=True)
    category = fields.String(required=True)
    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    contact_phone = fields.String(required=True, allow_none=True)
    online_shop_url = fields.String(required=True, allow_none=True)
    owner_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(MERCHANT_STATUSES))


@event_contract(
    "registry",
    "merchant_updated",
    examples=[
        {
            **_MERCHANT,
            "version": 2,
            "owner_id": _PERSON["person_id"],
            "changed": ["contact_phone", "owner_id"],
            "updated_at": "2026-03-02T10:00:00+00:00",
        }
    ],
)
class MerchantUpdated(_MerchantState):
    """A merchant's details changed; the payload is the whole record after the change."""

    changed = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    updated_at = fields.AwareDateTime(required=True)


@event_contract(
    "registry",
    "merchant_status_changed",
    examples=[
        {
            "merchant_id": _MERCHANT["merchant_id"],
            "district_id": "wholesale_city",
            "version": 3,
            "old_status": "active",
            "status": "suspended",
            "reason": "停业装修",
            "changed_at": "2026-04-01T08:00:00+00:00",
        }
    ],
)
class MerchantStatusChanged(Schema):
    """A merchant was suspended, reactivated or closed."""

    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    old_status = fields.String(required=True, validate=validate.OneOf(MERCHANT_STATUSES))
    status = fields.String(required=True, validate=validate.OneOf(MERCHANT_STATUSES))
    reason = fields.String(required=True, allow_none=True)
    changed_at = fields.AwareDateTime(required=True)


class _PersonState(Schema):
    person_id = fields.String(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1))
    mobile = fields.String(required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(PERSON_ROLES)), required=True)
    skills = fields.List(fields.String(), required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    district_id = fields.String(required=True, allow_none=True)
    has_id_card = fields.Boolean(required=True)


@event_contract(
    "registry",
    "person_registered",
    examples=[{**_PERSON, "version": 1, "registered_at": "2026-03-01T09:30:00+00:00"}],
)
class PersonRegistered(_PersonState):
    """A person (merchant owner, Party member, staff, volunteer, liaison) joined the register."""

    registered_at = fields.AwareDateTime(required=True)


@event_contract(
    "registry",
    "person_updated",
    examples=[{**_PERSON, "version": 2, "changed": ["language"], "updated_at": "2026-03-05T09:30:00+00:00"}],
)
class PersonUpdated(_PersonState):
    """A person's details changed; the payload is the whole record after the change."""

    changed = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    updated_at = fields.AwareDateTime(required=True)


@event_contract(
    "registry",
    "party_member_registered",
    examples=[
        {
            "person_id": _PERSON["person_id"],
            "branch_id": "branch_wholesale_city",
            "district_id": "wholesale_city",
            "joined_on": "2008-07-01",
            "membership": "full",
            "floating": False,
            "home_organisation": None,
            "home_province": None,
            "arrived_on": None,
            "transfer_due_on": None,
            "registered_at": "2026-03-01T09:30:00+00:00",
        },
        {
            "person_id": "5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d",
            "branch_id": "branch_wholesale_city",
            "district_id": "wholesale_city",
            "joined_on": "2012-06-30",
            "membership": "full",
            "floating": True,
            "home_organisation": "义乌市稠城街道党工委",
            "home_province": "浙江省",
            "arrived_on": "2026-02-10",
            "transfer_due_on": "2026-08-10",
            "registered_at": "2026-03-01T09:30:00+00:00",
        },
    ],
)
class PartyMemberRegistered(Schema):
    """A person was registered as a Party member of a branch; floating members keep their home
    organisation and are due for transfer six months after arrival."""

    person_id = fields.String(required=True)
    branch_id = fields.String(required=True)
    district_id = fields.String(required=True, allow_none=True)
    joined_on = fields.Date(required=True)
    membership = fields.String(required=True, validate=validate.OneOf(MEMBERSHIPS))
    floating = fields.Boolean(required=True)
    home_organisation = fields.String(required=True, allow_none=True)
    home_province = fields.String(required=True, allow_none=True)
    arrived_on = fields.Date(required=True, allow_none=True)
    transfer_due_on = fields.Date(required=True, allow_none=True)
    registered_at = fields.AwareDateTime(required=True)


@event_contract(
    "registry",
    "floating_member_transfer_due",
    examples=[
        {
            "person_id": "5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d",
            "branch_id": "branch_wholesale_city",
            "district_id": "wholesale_city",
            "home_organisation": "义乌市稠城街道党工委",
            "home_province": "浙江省",
            "arrived_on": "2026-02-10",
            "transfer_due_on": "2026-08-10",
        }
    ],
)
class FloatingMemberTransferDue(Schema):
    """A floating Party member has stayed six months without transferring in: the membership
    should now move to the local branch. Published once per member."""

    person_id = fields.String(required=True)
    branch_id = fields.String(required=True)
    district_id = fields.String(required=True, allow_none=True)
    home_organisation = fields.String(required=True)
    home_province = fields.String(required=True)
    arrived_on = fields.Date(required=True)
    transfer_due_on = fields.Date(required=True)


# The floating member's transfer (组织关系转接) as a workflow: started, then transferred in (the
# membership moved to the receiving branch) or declined. ``district_id`` is the receiving branch's.
TRANSFER_DECLINE_REASONS = ("leaving_district_soon", "home_organisation_keeps", "member_declines", "other")
TRANSFER_VIA = ("workflow", "direct")
_TRANSFER = {
    "transfer_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "person_id": "5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d",
    "from_branch_id": "branch_wholesale_city",
    "from_district_id": "wholesale_city",
    "to_branch_id": "branch_wholesale_city",
    "district_id": "wholesale_city",
    "home_organisation": "义乌市稠城街道党工委",
    "home_province": "浙江省",
    "started_on": "2026-08-12",
    "letter_no": "义稠党介〔2026〕017号",
}


class _Transfer(Schema):
    transfer_id = fields.String(required=True)
    person_id = fields.String(required=True)
    from_branch_id = fields.String(required=True)
    from_district_id = fields.String(required=True)
    to_branch_id = fields.String(required=True)
    district_id = fields.String(required=True)
    home_organisation = fields.String(required=True)
    home_province = fields.String(required=True)
    started_on = fields.Date(required=True)
    letter_no = fields.String(required=True, allow_none=True)


@event_contract(
    "registry",
    "floating_member_transfer_started",
    examples=[{**_TRANSFER, "started_at": "2026-08-12T02:15:00+00:00"}],
)
class FloatingMemberTransferStarted(_Transfer):
    """A floating member's transfer to a receiving branch (``to_branch_id``, in ``district_id``)
    was started, with the introduction letter's number (介绍信编号) if there is one."""

    started_at = fields.AwareDateTime(required=True)


@event_contract(
    "registry",
    "floating_member_transferred_in",
    examples=[
        {**_TRANSFER, "transferred_on": "2026-08-20", "via": "workflow"},
        {
            **_TRANSFER,
            "started_on": "2026-08-20",
            "letter_no": None,
            "transferred_on": "2026-08-20",
            "via": "direct",
        },
    ],
)
class FloatingMemberTransferredIn(_Transfer):
    """A floating member's membership moved to the receiving branch on ``transferred_on``: a
    started transfer completed (``via`` workflow) or a transfer recorded in one step (direct)."""

    transferred_on = fields.Date(required=True)
    via = fields.String(required=True, validate=validate.OneOf(TRANSFER_VIA))


@event_contract(
    "registry",
    "floating_member_transfer_declined",
    examples=[
        {
            **_TRANSFER,
            "reason": "leaving_district_soon",
            "note": "年底随店铺迁往济南",
            "declined_at": "2026-08-15T06:00:00+00:00",
        }
    ],
)
class FloatingMemberTransferDeclined(_Transfer):
    """A started transfer was declined with a reason: the membership stays where it is."""

    reason = fields.String(required=True, validate=validate.OneOf(TRANSFER_DECLINE_REASONS))
    note = fields.String(required=True, allow_none=True)
    declined_at = fields.AwareDateTime(required=True)


_HONOUR = {
    "honour_id": "c0ffee00-1234-4abc-8def-0123456789ab",
    "merchant_id": _MERCHANT["merchant_id"],
    "district_id": "wholesale_city",
    "kind": "star_party_member_merchant",
    "year": 2026,
    "stars": 5,
}


@event_contract(
    "registry",
    "honour_awarded",
    examples=[
        {
            **_HONOUR,
            "reason": "诚信经营、带头参与志愿服务",
            "awarded_by": "alliance",
            "awarded_on": "2026-07-01",
        },
        {
            **_HONOUR,
            "kind": "party_member_business_plaque",
            "year": None,
            "stars": None,
            "reason": "党员亮身份经营",
            "awarded_by": "branch_wholesale_city",
            "awarded_on": "2026-05-04",
        },
    ],
)
class HonourAwarded(Schema):
    """A merchant received an honour: star Party-member merchant, model store or member-business plaque."""

    honour_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(HONOUR_KINDS))
    year = fields.Integer(required=True, allow_none=True, strict=True)
    stars = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=1, max=5))
    reason = fields.String(required=True)
    awarded_by = fields.String(required=True)
    awarded_on = fields.Date(required=True)


@event_contract(
    "registry",
    "honour_revoked",
    examples=[{**_HONOUR, "reason": "经营违规", "revoked_at": "2026-09-01T08:00:00+00:00"}],
)
class HonourRevoked(Schema):
    """An honour was withdrawn; it stays in the merchant's history."""

    honour_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(HONOUR_KINDS))
    year = fields.Integer(required=True, allow_none=True, strict=True)
    stars = fields.Integer(required=True, allow_none=True, strict=True)
    reason = fields.String(required=True)
    revoked_at = fields.AwareDateTime(required=True)


_PAIRING = {
    "pairing_id": "a1b2c3d4-0000-4000-8000-000000000001",
    "person_id": _PERSON["person_id"],
    "merchant_id": _MERCHANT["merchant_id"],
    "district_id": "wholesale_city",
}


@event_contract("registry", "pairing_started", examples=[{**_PAIRING, "started_on": "2026-03-15"}])
class PairingStarted(Schema):
    """A Party member was paired with a merchant (结对) to help it one to one."""

    pairing_id = fields.String(required=True)
    person_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    started_on = fields.Date(required=True)


@event_contract(
    "registry",
    "pairing_ended",
    examples=[{**_PAIRING, "started_on": "2026-03-15", "ended_on": "2026-12-31", "reason": "商户已迁出"}],
)
class PairingEnded(Schema):
    """A pairing of a Party member with a merchant ended."""

    pairing_id = fields.String(required=True)
    person_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    started_on = fields.Date(required=True)
    ended_on = fields.Date(required=True)
    reason = fields.String(required=True, allow_none=True)


@event_contract(
    "registry",
    "system_access_revoked",
    examples=[
        {
            "system_id": "5b7e2c10-9d4f-4a3b-8c21-0f1e2d3c4b5a",
            "name": "miniprogram",
            "reason": "小程序后台迁移，旧凭据停用",
            "revoked_at": "2026-09-01T08:00:00+00:00",
        }
    ],
)
class SystemAccessRevoked(Schema):
    """An administrator revoked an internal system's access (docs/contract/DELEGATION.md): its
    credential exchanges nothing any more, and every service refuses the tokens it obtained, from
    now on, with ``Unauthenticated`` — ``system_id`` is their ``dlg`` claim."""

    system_id = fields.String(required=True)
    name = fields.String(required=True)
    reason = fields.String(required=True)
    revoked_at = fields.AwareDateTime(required=True)


_POINTS_ENTRY = {
    "entry_id": "c4d5e6f7-1111-4a2b-8c3d-4e5f60718293",
    "person_id": _PERSON["person_id"],
    "points": 2,
    "balance": 7,
    "kind": "award",
    "rule": "attended_activity",
    "source": "events.checked_in",
    "source_event_id": "0f9e8d7c6b5a49382716a5b4c3d2e1f0",
    "source_entity_id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    "reason": "参加活动：清明踏青野餐节",
    "branch_id": "branch_wholesale_city",
    "district_id": "wholesale_city",
    "corrects_id": None,
    "created_at": "2026-04-03T01:00:00+00:00",
    "actor": "event:events.checked_in",
}


@event_contract(
    "registry",
    "points_recorded",
    examples=[
        _POINTS_ENTRY,
        {
            **_POINTS_ENTRY,
            "entry_id": "c4d5e6f7-2222-4a2b-8c3d-4e5f60718293",
            "points": -2,
            "balance": 5,
            "kind": "correction",
            "rule": None,
            "source": "manual",
            "source_event_id": None,
            "source_entity_id": None,
            "reason": "签到有误，未实际参加",
            "corrects_id": _POINTS_ENTRY["entry_id"],
            "actor": "staff:admin-1",
        },
    ],
)
class PointsRecorded(Schema):
    """An entry was added to a Party member's points ledger (党员积分), with the member's balance
    after it. Entries never change: a correction is an entry of its own naming the one it
    corrects (``corrects_id``). ``branch_id`` and ``district_id``: the member's at the time."""

    entry_id = fields.String(required=True)
    person_id = fields.String(required=True)
    points = fields.Integer(required=True, strict=True)
    balance = fields.Integer(required=True, strict=True)
    kind = fields.String(required=True, validate=validate.OneOf(POINTS_KINDS))
    rule = fields.String(required=True, allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(POINTS_SOURCES))
    source_event_id = fields.String(required=True, allow_none=True)
    source_entity_id = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)
    branch_id = fields.String(required=True)
    district_id = fields.String(required=True)
    corrects_id = fields.String(required=True, allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    actor = fields.String(required=True)


# Organisations (组织联建): an administrator adds, renames, moves and retires them and names their
# liaisons. Each event carries the organisation's whole state after the change and its version.
_ORGANISATION = {
    "organisation_id": "dezhou_bank_tianqu",
    "version": 1,
    "type": "bank",
    "name": "德州银行天衢新区支行",
    "name_en": "Bank of Dezhou, Tianqu New District Branch",
    "short_name": "德州银行",
    "parent_id": None,
    "district_id": None,
    "status": "active",
    "liaison_ids": [_PERSON["person_id"]],
    "changed_at": "2026-03-01T09:30:00+00:00",
    "reason": None,
}


class _OrganisationState(Schema):
    organisation_id = fields.String(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    type = fields.String(required=True, validate=validate.OneOf(ORGANISATION_TYPES))
    name = fields.String(required=True, validate=validate.Length(min=1))
    name_en = fields.String(required=True)
    short_name = fields.String(required=True, validate=validate.Length(min=1))
    parent_id = fields.String(required=True, allow_none=True)
    district_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(ORGANISATION_STATUSES))
    liaison_ids = fields.List(fields.String(), required=True)
    changed_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, allow_none=True)


@event_contract("registry", "organisation_added", examples=[_ORGANISATION])
class OrganisationAdded(_OrganisationState):
    """An administrator added an organisation (a partner department, bank or institution, a branch)
    with its liaisons: the people of the register who are its contacts."""


@event_contract(
    "registry",
    "organisation_renamed",
    examples=[
        {
            **_ORGANISATION,
            "version": 2,
            "name": "德州银行天衢支行",
            "short_name": "德州银行天衢",
            "previous_name": _ORGANISATION["name"],
            "previous_short_name": _ORGANISATION["short_name"],
            "reason": "更名",
        }
    ],
)
class OrganisationRenamed(_OrganisationState):
    """An organisation's name, short name or English name changed; read models show the new one."""

    previous_name = fields.String(required=True)
    previous_short_name = fields.String(required=True)


@event_contract(
    "registry",
    "organisation_moved",
    examples=[{**_ORGANISATION, "version": 2, "parent_id": "alliance", "previous_parent_id": None}],
)
class OrganisationMoved(_OrganisationState):
    """An organisation was put under another parent (``parent_id``; None: it is a root now)."""

    previous_parent_id = fields.String(required=True, allow_none=True)


@event_contract(
    "registry",
    "organisation_liaisons_changed",
    examples=[
        {
            **_ORGANISATION,
            "version": 2,
            "liaison_ids": ["0d3c5b1e-7f2a-4c6d-9e8f-1a2b3c4d5e6f"],
            "added_liaison_ids": ["0d3c5b1e-7f2a-4c6d-9e8f-1a2b3c4d5e6f"],
            "removed_liaison_ids": [_PERSON["person_id"]],
        }
    ],
)
class OrganisationLiaisonsChanged(_OrganisationState):
    """An organisation's liaisons were replaced: ``liaison_ids`` now, who joined and who left."""

    added_liaison_ids = fields.List(fields.String(), required=True)
    removed_liaison_ids = fields.List(fields.String(), required=True)


@event_contract(
    "registry",
    "organisation_retired",
    examples=[
        {
            **_ORGANISATION,
            "version": 3,
            "status": "retired",
            "liaison_ids": [],
            "added_liaison_ids": [],
            "removed_liaison_ids": [_PERSON["person_id"]],
            "reason": "合作协议到期",
        }
    ],
)
class OrganisationRetired(_OrganisationState):
    """An organisation was retired: nothing needed it any more (no active child organisation, no
    Party member, no open pairing). Its liaisons were released (``removed_liaison_ids``); demands
    can no longer be routed or referred to it. It stays in the register, which names it in honours,
    points and history."""

    added_liaison_ids = fields.List(fields.String(), required=True)
    removed_liaison_ids = fields.List(fields.String(), required=True)
