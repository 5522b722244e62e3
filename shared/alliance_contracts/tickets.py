"""Events published by the tickets service: the demand list (需求清单)."""

from marshmallow import Schema, fields, validate

from . import event_contract

# A demand's states (the tickets service's lifecycle gives each its name and its steps).
STATUSES = (
    "submitted",
    "accepted",
    "in_progress",
    "waiting_on_merchant",
    "referred",
    "resolved",
    "closed",
    "rejected",
    "cancelled",
)
# How a demand is handled: on the spot (即办) or assisted over days (帮办).
HANDLING_MODES = {"on_the_spot": "即办", "assisted": "帮办"}
# The two deadlines of a ticket, and who an overdue ticket goes up to at escalation levels 1 and 2.
DEADLINES = ("first_response", "resolution")
ESCALATED_TO = ("branch_secretary", "alliance")
CLOSED_BY = ("merchant", "auto")
# Why a follow-up call (回访) is owed, and what it found out ("closed" is not "solved").
FOLLOW_UP_REASONS = ("poor_rating", "sample")
FOLLOW_UP_OUTCOMES = ("solved", "not_solved", "unreachable")
# Why a supervision (督办) ended: the step that took the ticket out of work.
SUPERVISION_LIFTED_BY = ("resolved", "closed", "rejected", "cancelled", "merged")
TICKET = "6d1f7c2e-58b4-4f0e-9a6b-2c4d8e1f3a5b"
MERCHANT = "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f"
WHEN = "2026-03-02T02:15:00+00:00"


class _Ticket(Schema):
    """Fields every ticket event carries, so a consumer can act without asking back."""

    ticket_id = fields.String(required=True)
    reference = fields.String(required=True, validate=validate.Regexp(r"^DM-\d{4}-\d{6}$"))
    merchant_id = fields.String(required=True)
    district_id = fields.String(required=True)
    category = fields.String(required=True)
    responsible_id = fields.String(required=True, allow_none=True)
    team = fields.String(required=True, allow_none=True)
    parent_id = fields.String(required=True, allow_none=True)


_BASE = {
    "ticket_id": TICKET,
    "reference": "DM-2026-000123",
    "merchant_id": MERCHANT,
    "district_id": "wholesale_city",
    "category": "bank_financing",
    "responsible_id": None,
    "team": "bank-liaisons",
    "parent_id": None,
}


@event_contract(
    "tickets",
    "ticket_submitted",
    examples=[
        {
            **_BASE,
            "title": "申请小微企业经营贷款",
            "handling_mode": "assisted",
            "requester_id": "b7e2c1d4-0f3a-4c5b-8d9e-1a2b3c4d5e6f",
            "style": "team",
            "submitted_at": WHEN,
            "first_response_due_at": "2026-03-02T06:15:00+00:00",
            "resolution_due_at": "2026-03-09T02:15:00+00:00",
        }
    ],
)
class TicketSubmitted(_Ticket):
    """A merchant's demand entered the demand list and got its reference number."""

    title = fields.String(required=True)
    handling_mode = fields.String(required=True, validate=validate.OneOf(tuple(HANDLING_MODES)))
    requester_id = fields.String(required=True)
    style = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    first_response_due_at = fields.AwareDateTime(required=True)
    resolution_due_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "ticket_assigned",
    examples=[
        {**_BASE, "assignee_id": None, "style": "team", "accepted": False, "reason": None},
        {**_BASE, "responsible_id": "p-17", "assignee_id": "p-17", "style": "team", "accepted": True, "reason": None},
        {
            **_BASE,
            "responsible_id": "p-22",
            "assignee_id": "p-22",
            "style": "team",
            "accepted": True,
            "reason": "熟悉该银行产品",
        },
    ],
)
class TicketAssigned(_Ticket):
    """A ticket was routed to a person or team, accepted by its owner, or reassigned (with a reason)."""

    assignee_id = fields.String(required=True, allow_none=True)
    style = fields.String(required=True)
    accepted = fields.Boolean(required=True)
    reason = fields.String(required=True, allow_none=True)


@event_contract(
    "tickets",
    "ticket_status_changed",
    examples=[
        {
            **_BASE,
            "from_status": "in_progress",
            "to_status": "waiting_on_merchant",
            "action": "request_info",
            "text": "请补充近半年银行流水",
            "changed_at": WHEN,
        }
    ],
)
class TicketStatusChanged(_Ticket):
    """A ticket moved from one state to another; ``text`` is what the merchant is told, if anything."""

    from_status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    to_status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    action = fields.String(required=True)
    text = fields.String(required=True, allow_none=True)
    changed_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "ticket_referred",
    examples=[
        {
            **_BASE,
            "responsible_id": "p-17",
            "partner": "德州银行天衢新区支行",
            "partner_id": "dezhou_bank_tianqu",
            "partner_liaison_ids": ["8d1f4e0a-2b3c-4d5e-8f90-a1b2c3d4e5f6"],
            "note": "小微企业经营贷",
            "referred_at": WHEN,
        },
        {
            **_BASE,
            "responsible_id": "p-17",
            "partner": "区市场监管局",
            "partner_id": None,
            "partner_liaison_ids": [],
            "note": None,
            "referred_at": WHEN,
        },
    ],
)
class TicketReferred(_Ticket):
    """A demand was referred to a partner (转办): an organisation of the registry (``partner_id``,
    its name then and its liaisons, who are told) or a partner named in free text (no id). The
    ticket's ``ticket_status_changed`` (to ``referred``) is published beside it."""

    partner = fields.String(required=True)
    partner_id = fields.String(required=True, allow_none=True)
    partner_liaison_ids = fields.List(fields.String(), required=True)
    note = fields.String(required=True, allow_none=True)
    referred_at = fields.AwareDateTime(required=True)


class _Deadline(_Ticket):
    target = fields.String(required=True, validate=validate.OneOf(DEADLINES))
    due_at = fields.AwareDateTime(required=True)


@event_contract("tickets", "ticket_due_soon", examples=[{**_BASE, "target": "first_response", "due_at": WHEN}])
class TicketDueSoon(_Deadline):
    """A ticket's first-response or resolution deadline is near (sent once per target)."""


@event_contract("tickets", "ticket_overdue", examples=[{**_BASE, "target": "resolution", "due_at": WHEN}])
class TicketOverdue(_Deadline):
    """A ticket missed its first-response or resolution deadline (sent once per target)."""


@event_contract(
    "tickets",
    "ticket_escalated",
    examples=[
        {**_BASE, "level": 1, "escalated_to": "branch_secretary", "escalated_to_id": "p-3", "due_at": WHEN},
        {**_BASE, "level": 2, "escalated_to": "alliance", "escalated_to_id": None, "due_at": WHEN},
    ],
)
class TicketEscalated(_Ticket):
    """An overdue ticket went up a level: the district's branch secretary, then the alliance (once each)."""

    level = fields.Integer(required=True, validate=validate.OneOf([1, 2]))
    escalated_to = fields.String(required=True, validate=validate.OneOf(ESCALATED_TO))
    escalated_to_id = fields.String(required=True, allow_none=True)
    due_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "ticket_resolved",
    examples=[{**_BASE, "resolution": "已对接德州银行，贷款获批", "resolved_at": WHEN, "on_time": True}],
)
class TicketResolved(_Ticket):
    """The responsible person resolved the ticket; the merchant is asked to confirm and rate it."""

    resolution = fields.String(required=True)
    resolved_at = fields.AwareDateTime(required=True)
    on_time = fields.Boolean(required=True)


@event_contract(
    "tickets",
    "ticket_closed",
    examples=[
        {**_BASE, "rating": 5, "closed_by": "merchant", "closed_at": WHEN},
        {**_BASE, "rating": None, "closed_by": "auto", "closed_at": WHEN},
    ],
)
class TicketClosed(_Ticket):
    """The merchant confirmed the resolution (with a rating), or seven days passed without a dispute."""

    rating = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=1, max=5))
    closed_by = fields.String(required=True, validate=validate.OneOf(CLOSED_BY))
    closed_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "ticket_reopened",
    examples=[{**_BASE, "reason": "贷款额度与承诺不符", "reopen_count": 1, "reopened_at": WHEN}],
)
class TicketReopened(_Ticket):
    """A resolved or closed ticket went back to work: a dispute, or a rating of 2 or less."""

    reason = fields.String(required=True)
    reopen_count = fields.Integer(required=True)
    reopened_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "feedback_received",
    examples=[{**_BASE, "rating": 2, "comment": "办理太慢", "received_at": WHEN}],
)
class FeedbackReceived(_Ticket):
    """A merchant rated how its demand was handled (1–5)."""

    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(required=True, allow_none=True)
    received_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "task_refused",
    examples=[
        {
            **_BASE,
            "parent_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "parent_reference": "DM-2026-000120",
            "parent_responsible_id": "p-17",
            "unit": "aodele",
            "refused_by": "p-40",
            "reason": "该商户不在本商圈",
            "refused_at": WHEN,
        }
    ],
)
class TaskRefused(_Ticket):
    """A unit refused a child task of a joint demand, with its reason; the parent's owner must act."""

    parent_reference = fields.String(required=True)
    parent_responsible_id = fields.String(required=True, allow_none=True)
    unit = fields.String(required=True)
    refused_by = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))
    refused_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "follow_up_call_scheduled",
    examples=[
        {
            **_BASE,
            "responsible_id": "p-17",
            "rating": 2,
            "comment": "办理太慢",
            "call_by_id": "p-3",
            "due_at": "2026-03-03T02:15:00+00:00",
            "scheduled_at": WHEN,
            "follow_up_id": "5b7c9d1e-2f3a-4b5c-8d6e-7f8a9b0c1d2e",
            "reason": "poor_rating",
        },
        {
            **_BASE,
            "rating": 1,
            "comment": None,
            "call_by_id": None,
            "due_at": "2026-03-03T02:15:00+00:00",
            "scheduled_at": WHEN,
        },
        {
            **_BASE,
            "responsible_id": "p-17",
            "rating": None,
            "comment": None,
            "call_by_id": "p-3",
            "due_at": "2026-03-03T02:15:00+00:00",
            "scheduled_at": WHEN,
            "follow_up_id": "6c8d0e2f-3a4b-4c5d-9e7f-8a9b0c1d2e3f",
            "reason": "sample",
        },
    ],
)
class FollowUpCallScheduled(_Ticket):
    """A follow-up call (回访) to the merchant is owed: for a poor rating (1–2, the case reopened),
    or because the demand closed and the configured sample drew it. Who should call (the district's
    branch secretary, the supervisor of its handling; ``call_by_id`` is None when the service knows
    none) and by when (one working day). ``follow_up_id`` names the task whose outcome
    ``record_follow_up`` records (None in events published before tasks had ids)."""

    rating = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(required=True, allow_none=True)
    call_by_id = fields.String(required=True, allow_none=True)
    due_at = fields.AwareDateTime(required=True)
    scheduled_at = fields.AwareDateTime(required=True)
    follow_up_id = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default="poor_rating", validate=validate.OneOf(FOLLOW_UP_REASONS))


@event_contract(
    "tickets",
    "follow_up_call_recorded",
    examples=[
        {
            **_BASE,
            "responsible_id": "p-17",
            "follow_up_id": "5b7c9d1e-2f3a-4b5c-8d6e-7f8a9b0c1d2e",
            "reason": "poor_rating",
            "outcome": "not_solved",
            "note": "商户表示贷款额度仍不够",
            "call_by_id": "p-3",
            "recorded_by": "p-3",
            "recorded_at": WHEN,
        }
    ],
)
class FollowUpCallRecorded(_Ticket):
    """The outcome of a follow-up call: whether the merchant's matter is solved (not only closed),
    not solved, or the merchant could not be reached; it counts in the units' figures."""

    follow_up_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_REASONS))
    outcome = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_OUTCOMES))
    note = fields.String(required=True, allow_none=True)
    call_by_id = fields.String(required=True, allow_none=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.AwareDateTime(required=True)


_SUPERVISION = {
    **_BASE,
    "responsible_id": "p-17",
    "supervision_id": "7d9e1f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
    "supervisor_id": "p-3",
}


@event_contract(
    "tickets",
    "ticket_supervised",
    examples=[
        {**_SUPERVISION, "reason": "超时未办结，督促办理", "due_at": "2026-03-04T09:30:00+00:00", "placed_at": WHEN}
    ],
)
class TicketSupervised(_Ticket):
    """A district leader put an overdue or escalated demand under supervision (督办), to be
    resolved by ``due_at``; its owner is reminded in working time until it is."""

    supervision_id = fields.String(required=True)
    supervisor_id = fields.String(required=True)
    reason = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True)
    placed_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "supervision_reminded",
    examples=[
        {**_SUPERVISION, "due_at": "2026-03-04T09:30:00+00:00", "overdue": False, "reminder": 1, "reminded_at": WHEN}
    ],
)
class SupervisionReminded(_Ticket):
    """A supervised demand is still not resolved: its owner is reminded (the n-th ``reminder``);
    ``overdue`` once the supervision's own due date has passed."""

    supervision_id = fields.String(required=True)
    supervisor_id = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True)
    overdue = fields.Boolean(required=True)
    reminder = fields.Integer(required=True, validate=validate.Range(min=1))
    reminded_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "supervision_lifted",
    examples=[{**_SUPERVISION, "lifted_because": "resolved", "on_time": True, "lifted_at": WHEN}],
)
class SupervisionLifted(_Ticket):
    """A supervision ended because the demand left work (resolved, or closed, rejected, cancelled,
    merged); ``on_time``: before the supervision's due date."""

    supervision_id = fields.String(required=True)
    supervisor_id = fields.String(required=True)
    lifted_because = fields.String(required=True, validate=validate.OneOf(SUPERVISION_LIFTED_BY))
    on_time = fields.Boolean(required=True)
    lifted_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "ticket_merged",
    examples=[
        {
            **_BASE,
            "survivor_id": "8e0f2a4b-5c6d-4e7f-9a8b-0c1d2e3f4a5b",
            "survivor_reference": "DM-2026-000118",
            "reason": "与DM-2026-000118为同一诉求",
            "merged_at": WHEN,
        }
    ],
)
class TicketMerged(_Ticket):
    """A duplicate demand was merged into another of the same merchant (the survivor) and closed;
    both timelines keep the fact, and the merchant follows the survivor from now on."""

    survivor_id = fields.String(required=True)
    survivor_reference = fields.String(required=True, validate=validate.Regexp(r"^DM-\d{4}-\d{6}$"))
    reason = fields.String(required=True, allow_none=True)
    merged_at = fields.AwareDateTime(required=True)


_DOCUMENT = {**_BASE, "item_id": "9f1a3b5c-6d7e-4f8a-8b9c-1d2e3f4a5b6c", "document": "营业执照副本"}


@event_contract(
    "tickets",
    "document_received",
    examples=[{**_DOCUMENT, "received_from": "店主王女士", "location": "服务中心档案柜A-3", "received_at": WHEN}],
)
class DocumentReceived(_Ticket):
    """The centre took a document of the merchant's into its custody to handle a matter on its
    behalf (帮办): what, from whom, where it is kept."""

    item_id = fields.String(required=True)
    document = fields.String(required=True)
    received_from = fields.String(required=True)
    location = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "document_returned",
    examples=[{**_DOCUMENT, "returned_to": "店主王女士", "returned_at": WHEN}],
)
class DocumentReturned(_Ticket):
    """A document in the centre's custody was handed back; the merchant is asked to confirm it."""

    item_id = fields.String(required=True)
    document = fields.String(required=True)
    returned_to = fields.String(required=True)
    returned_at = fields.AwareDateTime(required=True)


@event_contract(
    "tickets",
    "document_return_confirmed",
    examples=[{**_DOCUMENT, "confirmed_by": "owner-3f0c8a52", "confirmed_at": WHEN}],
)
class DocumentReturnConfirmed(_Ticket):
    """The merchant confirmed it has its document back: the custody of it is over."""

    item_id = fields.String(required=True)
    document = fields.String(required=True)
    confirmed_by = fields.String(required=True)
    confirmed_at = fields.AwareDateTime(required=True)
