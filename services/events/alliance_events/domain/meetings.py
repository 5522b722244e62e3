"""Branch life (三会一课): a Party branch's meetings and the rhythm they are held in.

A meeting is planned (with its agenda and its invitees: the branch's members unless named), held
(attendance taken by check-in as for activities, and closed: whoever neither came nor was excused
is absent), its minutes recorded; or cancelled before it is held. Each kind has a rhythm in the
service's config (``BRANCH_MEETING_RHYTHM``): held at least once in each calendar month or
quarter. A branch whose last meeting of a kind is more than one whole period back is overdue, and
its secretary is told once per period it missed.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from alliance_contracts.events import ATTENDANCE, MEETING_KINDS, MEETING_STATUSES
from alliance_platform.errors import Conflict, Forbidden

from . import check_in
from .organisers import MANAGERS, actor

PLANNED, HELD, CANCELLED = MEETING_STATUSES
INVITED, ATTENDED, EXCUSED, ABSENT = ATTENDANCE
# An invitee's answer to the door: checked in, or excused (请假) beforehand with a reason.
ANSWERED = (ATTENDED, EXCUSED)

# A meeting's invitees at most: a branch of the alliance has tens of members, an alliance-wide
# Party lecture a few hundred.
MAX_INVITEES = 500

# How many months one period of a rhythm lasts: a meeting is due in each.
RHYTHMS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}

_MOVES = {"hold": (PLANNED, HELD), "cancel": (PLANNED, CANCELLED)}


def next_state(status, action):
    source, target = _MOVES[action]
    if status != source:
        raise Conflict(f"cannot {action} a meeting that is {status}")
    return target


def check_times(starts_at, ends_at, now):
    if ends_at <= starts_at:
        raise Conflict("a meeting ends after it starts")
    if starts_at < now:
        raise Conflict(f"a meeting is planned ahead: {starts_at.isoformat()} has passed")


def check_door_open(meeting, now, opens_before):
    """Check-in (and closing the attendance) from ``opens_before`` the start, while it is planned."""
    if meeting["status"] != PLANNED:
        raise Conflict(f"the meeting is {meeting['status']}: attendance is no longer taken")
    opens_at = meeting["starts_at"] - opens_before
    if now < opens_at:
        raise Conflict(f"check-in opens at {opens_at.isoformat()}")


def check_minutes(meeting):
    if meeting["status"] != HELD:
        raise Conflict(f"the meeting is {meeting['status']}: minutes are recorded once it is held")


def check_rhythm(rhythm):
    """The configured rhythm: every kind named once, each with a known period (else ValueError)."""
    unknown = sorted(set(rhythm) - set(MEETING_KINDS))
    if unknown:
        raise ValueError(f"BRANCH_MEETING_RHYTHM names unknown meeting kinds {unknown}")
    missing = sorted(set(MEETING_KINDS) - set(rhythm))
    if missing:
        raise ValueError(f"BRANCH_MEETING_RHYTHM has no rhythm for {missing}")
    bad = {kind: period for kind, period in rhythm.items() if period not in RHYTHMS}
    if bad:
        raise ValueError(f"BRANCH_MEETING_RHYTHM: unknown periods {bad}; known: {sorted(RHYTHMS)}")
    return dict(rhythm)


# --- who ----------------------------------------------------------------------------------------


def may_manage(caller, branch_district):
    """The branch's secretary, staff of its district, internal systems and administrators."""
    if caller.kind == "merchant" or not caller.has_any_role(MANAGERS):
        return False
    return caller.is_admin if branch_district is None else caller.covers_district(branch_district)


def require_secretary(caller, branch):
    if not may_manage(caller, branch["district_id"]):
        raise Forbidden(f"{actor(caller)} keeps no meetings of {branch['id']}")


def require_manager(caller, meeting):
    if not may_manage(caller, meeting["district_id"]):
        raise Forbidden(f"only the secretary of {meeting['branch_id']}, its staff or an administrator may do this")


# --- what is shown and announced -----------------------------------------------------------------


def summary(meeting):
    """The facts every meeting event carries."""
    return {
        "meeting_id": str(meeting["id"]),
        **{k: meeting[k] for k in ("branch_id", "district_id", "kind", "title", "place", "starts_at", "ends_at")},
    }


def attendee_shown(row):
    return {k: row[k] for k in ("meeting_id", "person_id", "status", "checked_in_at", "reason")}


def attendance(attendees):
    """How many were invited, came, were excused and were absent; the rate of those expected
    (everyone invited but the excused)."""
    counted = {status: sum(a["status"] == status for a in attendees) for status in (ATTENDED, EXCUSED, ABSENT)}
    expected = len(attendees) - counted[EXCUSED]
    return {"invited": len(attendees), **counted, "attendance_rate": check_in.rate(counted[ATTENDED], expected)}


def roll(attendees):
    """Who came, who was excused (with the reason) and who was absent, as ``meeting_held`` records them."""
    return {
        "attended": [a["person_id"] for a in attendees if a["status"] == ATTENDED],
        "excused": [{"person_id": a["person_id"], "reason": a["reason"]} for a in attendees if a["status"] == EXCUSED],
        "absent": [a["person_id"] for a in attendees if a["status"] == ABSENT],
    }


def shown(meeting, attendees, caller, full):
    """A meeting as ``caller`` sees it: its attendance counted; the invitees one by one for those
    who manage it (``full``); the caller's own check-in code if invited — nobody else's."""
    mine = next((a for a in attendees if a["person_id"] == caller.subject), None)
    return {
        **meeting,
        "attendance": attendance(attendees),
        "attendees": [attendee_shown(a) for a in attendees] if full else None,
        "my_attendance": None
        if mine is None
        else {**attendee_shown(mine), "check_in_code": mine["check_in_code"] if mine["status"] == INVITED else None},
    }


# --- the rhythm ------------------------------------------------------------------------------------


def period_of(day, rhythm):
    """The period of ``rhythm`` that ``day`` falls in: (first day, first day of the next)."""
    months = RHYTHMS[rhythm]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    return start, _add_months(start, months)


def _add_months(first, months):
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1)


@dataclass(frozen=True)
class Standing:
    """Where a branch stands with one kind of meeting on ``today``: the day of its last meeting
    held, the last day by which the next is due, whether that has passed, and the period it missed
    most recently (the one its secretary is told of, once) if so."""

    last_held: date | None
    next_due: date
    overdue: bool
    missed_period: date | None


def standing(rhythm, last_held, today, since):
    """``last_held`` the day of the branch's last meeting of the kind held (None: never);
    ``since`` the first day the rhythm counts from: the first period owed is the first whole one
    from that day (a quarter half gone when counting began is not owed)."""
    if last_held is not None:
        _, due_from = period_of(last_held, rhythm)
    else:
        first, following = period_of(since, rhythm)
        due_from = first if first == since else following
    _, due_until = period_of(due_from, rhythm)
    next_due = due_until - timedelta(days=1)
    if today <= next_due:
        return Standing(last_held, next_due, False, None)
    current, _ = period_of(today, rhythm)
    missed, _ = period_of(current - timedelta(days=1), rhythm)
    return Standing(last_held, next_due, True, missed)


def standing_shown(standing):
    return {
        "last_held_on": standing.last_held,
        "next_due_on": standing.next_due,
        "overdue": standing.overdue,
        "missed_period": standing.missed_period,
    }
