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
        },
        {
            **_BASE,
            "rating": 1,
            "comment": None,
            "call_by_id": None,
            "due_at": "2026-03-03T02:15:00+00:00",
            "scheduled_at": WHEN,
        },
    ],
)
class FollowUpCallScheduled(_Ticket):
    """A poor rating (1–2) put a follow-up call (回访) to the merchant on the ticket's timeline: who
    should call (the district's branch secretary, the supervisor of its handling; ``call_by_id``
    is None when the service knows none) and by when (one working day)."""

    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(required=True, allow_none=True)
    call_by_id = fields.String(required=True, allow_none=True)
    due_at = fields.AwareDateTime(required=True)
    scheduled_at = fields.AwareDateTime(required=True)
