"""Events published by the events service: activities run jointly (活动联抓)."""

from marshmallow import Schema, fields, validate

from . import event_contract

# Whom an activity is for.
AUDIENCES = ("merchants", "party_members", "staff", "children")
# What a registration is: it holds a seat or a place in the waiting list (HELD), or no longer does.
HELD = ("confirmed", "waitlisted")
REGISTRATION_STATUSES = (*HELD, "cancelled", "attended", "no_show")
# Why a waiting-list offer ended unanswered: its time ran out, or registration was over first (the
# activity started; offers go on after registration closed, until the start).
OFFER_ENDINGS = ("expired", "registration_closed")
# How long before its start an activity's confirmed registrants are reminded (the earlier window first).
REMINDER_WINDOWS = ("24h", "2h")
# The honours an evaluation (评选) may be for: the registry awards its winners the honour of that kind.
STAR_PARTY_MEMBER_MERCHANT = "star_party_member_merchant"  # given with 1–5 stars
EVALUATION_KINDS = (STAR_PARTY_MEMBER_MERCHANT, "party_member_model_store")

# Branch life (三会一课): the kinds of a Party branch's meetings — branch general meeting (支部党员大会),
# branch committee (支部委员会), Party group meeting (党小组会), Party lecture (党课).
MEETING_KINDS = ("branch_general_meeting", "branch_committee", "party_group_meeting", "party_lecture")
MEETING_STATUSES = ("planned", "held", "cancelled")
# An invitee of a meeting: invited (not yet answered), attended (checked in), excused (请假, with a
# reason) or absent (neither, once the attendance was closed).
ATTENDANCE = ("invited", "attended", "excused", "absent")

ACTIVITY = "5e1c2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
WHEN = "2026-04-03T01:00:00+00:00"


class _Activity(Schema):
    """Fields every activity event carries."""

    activity_id = fields.String(required=True)
    title = fields.String(required=True)
    type = fields.String(required=True)
    organisers = fields.List(fields.String(), required=True)
    venue = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


_BASE = {
    "activity_id": ACTIVITY,
    "title": "清明踏青野餐节",
    "type": "themed_promotion",
    "organisers": ["outlets", "wholesale_city", "aodele"],
    "venue": "德百奥莱广场中庭",
    "starts_at": WHEN,
    "ends_at": "2026-04-05T12:00:00+00:00",
}


class Audience(Schema):
    kinds = fields.List(fields.String(validate=validate.OneOf(AUDIENCES)))
    districts = fields.List(fields.String())


@event_contract(
    "events",
    "activity_published",
    examples=[
        {
            **_BASE,
            "audience": {"kinds": ["merchants"], "districts": ["outlets", "wholesale_city", "aodele"]},
            "theme_tags": ["野餐", "露营"],
            "capacity": 500,
            "registration_closes_at": "2026-04-02T10:00:00+00:00",
            "series_id": None,
        }
    ],
)
class ActivityPublished(_Activity):
    """An activity was published: its audience may now see it and register."""

    audience = fields.Nested(Audience, required=True)
    theme_tags = fields.List(fields.String(), required=True)
    capacity = fields.Integer(required=True)
    registration_closes_at = fields.AwareDateTime(required=True)
    series_id = fields.String(required=True, allow_none=True)


@event_contract(
    "events",
    "activity_updated",
    examples=[
        {**_BASE, "changed": ["starts_at", "venue"], "registrant_ids": ["p-1", "p-2"]},
        {**_BASE, "changed": ["theme_tags"], "registrant_ids": []},
    ],
)
class ActivityUpdated(_Activity):
    """A published activity's details changed (time, venue, ...); the payload is the result.
    ``changed`` names only the fields whose value changed; ``registrant_ids``, everyone registered
    or waiting at that moment, to be told (absent in events published before it was added)."""

    changed = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    registrant_ids = fields.List(fields.String(), load_default=list)


@event_contract(
    "events",
    "activity_cancelled",
    examples=[{**_BASE, "reason": "天气原因", "registrant_ids": ["p-1", "p-2"], "cancelled_at": WHEN}],
)
class ActivityCancelled(_Activity):
    """An activity was cancelled; everyone registered or waiting is named, to be told."""

    reason = fields.String(required=True, validate=validate.Length(min=1))
    registrant_ids = fields.List(fields.String(), required=True)
    cancelled_at = fields.AwareDateTime(required=True)


class _Registration(_Activity):
    registration_id = fields.String(required=True)
    person_id = fields.String(required=True)
    merchant_id = fields.String(required=True, allow_none=True)
    district_id = fields.String(required=True)
    child_name = fields.String(required=True, allow_none=True)


_REGISTRATION = {
    **_BASE,
    "registration_id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    "person_id": "p-1",
    "merchant_id": None,
    "district_id": "outlets",
    "child_name": None,
}


@event_contract("events", "registration_confirmed", examples=[{**_REGISTRATION, "check_in_code": "K7M3Q9TX"}])
class RegistrationConfirmed(_Registration):
    """A registration got a seat; the check-in code is the ticket at the venue."""

    check_in_code = fields.String(required=True)


@event_contract("events", "registration_waitlisted", examples=[{**_REGISTRATION, "position": 3}])
class RegistrationWaitlisted(_Registration):
    """No seat was free: the registration waits, at ``position`` in the queue of this activity."""

    position = fields.Integer(required=True)


@event_contract("events", "registration_promoted", examples=[{**_REGISTRATION, "check_in_code": "K7M3Q9TX"}])
class RegistrationPromoted(_Registration):
    """A seat freed up and went to this waiting registration. Published before waiting-list offers
    (``seat_offered``, ``offer_accepted``) took its place; kept for consumers of older events."""

    check_in_code = fields.String(required=True)


_OFFER = {**_REGISTRATION, "offered_at": "2026-04-02T01:00:00+00:00", "expires_at": "2026-04-02T03:00:00+00:00"}


@event_contract("events", "seat_offered", examples=[_OFFER])
class SeatOffered(_Registration):
    """A seat freed up and is offered to this waiting registration, held for it until
    ``expires_at``: accepted by then (``accept_offer``) it is confirmed, else the seat passes on."""

    offered_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)


@event_contract(
    "events",
    "offer_accepted",
    examples=[{**_OFFER, "accepted_at": "2026-04-02T01:30:00+00:00", "check_in_code": "K7M3Q9TX"}],
)
class OfferAccepted(_Registration):
    """The offered seat was accepted: the registration is confirmed; the check-in code is its ticket."""

    offered_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    accepted_at = fields.AwareDateTime(required=True)
    check_in_code = fields.String(required=True)


@event_contract("events", "offer_declined", examples=[{**_OFFER, "declined_at": "2026-04-02T01:30:00+00:00"}])
class OfferDeclined(_Registration):
    """The offered seat was declined: the registration is cancelled, the seat offered to the next."""

    offered_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    declined_at = fields.AwareDateTime(required=True)


@event_contract(
    "events",
    "offer_expired",
    examples=[
        {**_OFFER, "because": "expired", "ended_at": "2026-04-02T03:00:00+00:00"},
        {**_OFFER, "because": "registration_closed", "ended_at": "2026-04-02T02:00:00+00:00"},
    ],
)
class OfferExpired(_Registration):
    """An offered seat was not accepted in time (``because: expired``: the registration is
    cancelled and the seat offered to the next), or registration was over first: the activity
    started (``registration_closed``: the registration waits again in its place; no more offers)."""

    offered_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    because = fields.String(required=True, validate=validate.OneOf(OFFER_ENDINGS))
    ended_at = fields.AwareDateTime(required=True)


@event_contract("events", "registration_cancelled", examples=[{**_REGISTRATION, "was": "confirmed"}])
class RegistrationCancelled(_Registration):
    """A registration was cancelled by its registrant; ``was`` tells whether it held a seat."""

    was = fields.String(required=True, validate=validate.OneOf(HELD))


@event_contract("events", "checked_in", examples=[{**_REGISTRATION, "checked_in_at": WHEN}])
class CheckedIn(_Registration):
    """A registrant was checked in at the venue."""

    checked_in_at = fields.AwareDateTime(required=True)


@event_contract(
    "events",
    "activity_reminder_due",
    examples=[{**_BASE, "window": "24h", "person_ids": ["p-1", "p-2"]}, {**_BASE, "window": "2h", "person_ids": []}],
)
class ActivityReminderDue(_Activity):
    """The activity starts in 24 or 2 hours: remind everyone confirmed (sent once per window)."""

    window = fields.String(required=True, validate=validate.OneOf(REMINDER_WINDOWS))
    person_ids = fields.List(fields.String(), required=True)


@event_contract(
    "events",
    "activity_completed",
    examples=[{**_BASE, "attended": 412, "no_shows": 88, "points_awarded": 0, "completed_at": WHEN}],
)
class ActivityCompleted(_Activity):
    """The activity ended: attendance counted, no-shows recorded (by name in ``no_shows_recorded``).
    ``points_awarded``: deprecated, 0 — points are the registry's ledger's (``points_recorded``)."""

    attended = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    points_awarded = fields.Integer(required=True)
    completed_at = fields.AwareDateTime(required=True)


class NoShow(Schema):
    registration_id = fields.String(required=True)
    person_id = fields.String(required=True)
    merchant_id = fields.String(required=True, allow_none=True)
    district_id = fields.String(required=True)


@event_contract(
    "events",
    "no_shows_recorded",
    examples=[
        {
            **_BASE,
            "no_shows": [
                {
                    "registration_id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
                    "person_id": "p-2",
                    "merchant_id": None,
                    "district_id": "outlets",
                }
            ],
            "recorded_at": WHEN,
        },
        {**_BASE, "no_shows": [], "recorded_at": WHEN},
    ],
)
class NoShowsRecorded(_Activity):
    """The activity completed: each registration that held a seat and did not check in, by name
    (published once, with ``activity_completed``). The registry's points ledger gives its
    ``no_show`` points (a deduction) to each Party member among them."""

    no_shows = fields.List(fields.Nested(NoShow), required=True)
    recorded_at = fields.AwareDateTime(required=True)


class Winner(Schema):
    merchant_id = fields.String(required=True)
    votes = fields.Integer(required=True)
    rank = fields.Integer(required=True)


@event_contract(
    "events",
    "evaluation_closed",
    examples=[
        {
            "activity_id": ACTIVITY,
            "title": "2026年度星级党员商户评选",
            "kind": "star_party_member_merchant",
            "year": 2026,
            "stars": 5,
            "winners": [{"merchant_id": "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f", "votes": 42, "rank": 1}],
            "closed_at": WHEN,
        }
    ],
)
class EvaluationClosed(Schema):
    """An evaluation (评选) closed; its winners are to be awarded the honour it was for."""

    activity_id = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(EVALUATION_KINDS))
    year = fields.Integer(required=True)
    stars = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=1, max=5))
    winners = fields.List(fields.Nested(Winner), required=True)
    closed_at = fields.AwareDateTime(required=True)


# --- branch life (三会一课) --------------------------------------------------------------------------

MEETING = "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e"


class _Meeting(Schema):
    """Fields every meeting event carries: the branch and the branch's district (its secretary's;
    None for a branch the register places in no district)."""

    meeting_id = fields.String(required=True)
    branch_id = fields.String(required=True)
    district_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(MEETING_KINDS))
    title = fields.String(required=True)
    place = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


_MEETING = {
    "meeting_id": MEETING,
    "branch_id": "branch_wholesale_city",
    "district_id": "wholesale_city",
    "kind": "branch_committee",
    "title": "十二月支部委员会",
    "place": "红星德百商圈党群服务中心二楼会议室",
    "starts_at": "2026-12-03T06:30:00+00:00",
    "ends_at": "2026-12-03T08:00:00+00:00",
}


@event_contract(
    "events",
    "meeting_planned",
    examples=[
        {
            **_MEETING,
            "agenda": ["传达学习上级会议精神", "研究流动党员接转工作"],
            "person_ids": ["p-1", "p-2", "p-3"],
            "planned_by": "branch_secretary:p-1",
        }
    ],
)
class MeetingPlanned(_Meeting):
    """A branch meeting was planned; ``person_ids``, everyone invited (the branch's members unless
    named), to be told. Each invitee checks in with a code of their own (``get_meeting``)."""

    agenda = fields.List(fields.String(), required=True)
    person_ids = fields.List(fields.String(), required=True)
    planned_by = fields.String(required=True)


class Excused(Schema):
    person_id = fields.String(required=True)
    reason = fields.String(required=True)


@event_contract(
    "events",
    "meeting_held",
    examples=[
        {
            **_MEETING,
            "attended": ["p-1", "p-2"],
            "excused": [{"person_id": "p-3", "reason": "外出进货"}],
            "absent": [],
            "attendance_rate": 0.667,
            "held_at": "2026-12-03T06:40:00+00:00",
        }
    ],
)
class MeetingHeld(_Meeting):
    """A branch meeting was held: its attendance closed. Who checked in, who was excused (with
    the reason) and who was absent (invited, neither came nor was excused) — recorded as they are."""

    attended = fields.List(fields.String(), required=True)
    excused = fields.List(fields.Nested(Excused), required=True)
    absent = fields.List(fields.String(), required=True)
    attendance_rate = fields.Float(required=True, allow_none=True)
    held_at = fields.AwareDateTime(required=True)


@event_contract(
    "events",
    "minutes_recorded",
    examples=[
        {
            **_MEETING,
            "minutes": "会议由支部书记主持，传达学习了上级会议精神，讨论了流动党员接转工作。",
            "decisions": ["本月完成两名流动党员组织关系转入"],
            "recorded_by": "branch_secretary:p-1",
            "recorded_at": "2026-12-03T09:00:00+00:00",
        }
    ],
)
class MinutesRecorded(_Meeting):
    """The minutes of a held meeting were recorded (once), with the decisions taken."""

    minutes = fields.String(required=True)
    decisions = fields.List(fields.String(), required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.AwareDateTime(required=True)


@event_contract(
    "events",
    "meeting_cancelled",
    examples=[{**_MEETING, "reason": "与上级党委会议冲突，改期", "person_ids": ["p-1", "p-2"], "cancelled_at": WHEN}],
)
class MeetingCancelled(_Meeting):
    """A planned meeting was cancelled; everyone invited is named, to be told."""

    reason = fields.String(required=True, validate=validate.Length(min=1))
    person_ids = fields.List(fields.String(), required=True)
    cancelled_at = fields.AwareDateTime(required=True)


@event_contract(
    "events",
    "branch_meeting_overdue",
    examples=[
        {
            "branch_id": "branch_aodele",
            "branch_name": "澳德乐时代广场党支部",
            "district_id": "aodele",
            "kind": "branch_committee",
            "rhythm": "monthly",
            "last_held_on": "2026-10-15",
            "due_on": "2026-11-30",
            "missed_period": "2026-11-01",
        },
        {
            "branch_id": "branch_outlets",
            "branch_name": "德百奥莱广场党支部",
            "district_id": "outlets",
            "kind": "party_lecture",
            "rhythm": "quarterly",
            "last_held_on": None,
            "due_on": "2026-09-30",
            "missed_period": "2026-07-01",
        },
    ],
)
class BranchMeetingOverdue(Schema):
    """A branch held no meeting of a kind in a whole period of its rhythm (``missed_period``, its
    first day): its secretary is to be told, once per period missed. ``due_on`` is the last day the
    next meeting was due by; ``last_held_on`` None if the branch never held one."""

    branch_id = fields.String(required=True)
    branch_name = fields.String(required=True)
    district_id = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(MEETING_KINDS))
    rhythm = fields.String(required=True)
    last_held_on = fields.Date(required=True, allow_none=True)
    due_on = fields.Date(required=True)
    missed_period = fields.Date(required=True)
