"""What the SLA sweep owes a ticket at a given moment: warnings and escalations, each once.

A ticket whose clock runs (``lifecycle.SLA_RUNNING``) has a resolution deadline, and while it is
not yet accepted a first-response deadline too. For each deadline: "due soon" once, when at most
``due_soon_minutes`` working minutes are left; "overdue" once, when it has passed (a deadline
found already passed gets only "overdue"). An overdue ticket goes up to the district's branch
secretary (level 1) at once and to the alliance (level 2) once it has been overdue
``escalate_to_alliance_after`` working minutes; each level once, and never back down. What was
sent is kept on the ticket (``due_soon_sent``, ``overdue_sent``, ``escalation_level``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from alliance_contracts.tickets import DEADLINES, ESCALATED_TO

from .lifecycle import SLA_PAUSED, SLA_RUNNING, SUBMITTED

FIRST_RESPONSE, RESOLUTION = DEADLINES
# Wall-clock reach of a working-time warning window: a weekend or a holiday week lies between.
LOOKAHEAD = timedelta(days=10)


@dataclass(frozen=True)
class Escalation:
    level: int
    to: str  # who it goes up to (ESCALATED_TO)
    note: str  # the timeline's line


ESCALATIONS = {
    1: Escalation(1, ESCALATED_TO[0], "上报商圈党支部书记"),
    2: Escalation(2, ESCALATED_TO[1], "上报联盟"),
}


@dataclass(frozen=True)
class Notice:
    kind: str  # due_soon or overdue
    target: str  # one of DEADLINES
    due_at: datetime

    @property
    def event_type(self):
        return f"ticket_{self.kind}"


@dataclass(frozen=True)
class Review:
    notices: tuple  # Notice, to send now
    escalations: tuple  # Escalation, to make now, lowest level first
    missed_since: datetime | None  # the earliest deadline passed: what the escalations are about
    due_soon_sent: list  # the ticket's flags after sending
    overdue_sent: list
    level: int  # the escalation level the ticket's lateness calls for now

    def changes(self, ticket):
        """Whether the ticket's flags must be written."""
        return (self.due_soon_sent, self.overdue_sent, self.level) != (
            ticket["due_soon_sent"],
            ticket["overdue_sent"],
            ticket["escalation_level"],
        )


def deadlines_of(ticket):
    """The deadlines that can still run out, resolution first."""
    deadlines = {RESOLUTION: ticket["resolution_due_at"]}
    if ticket["status"] == SUBMITTED:
        deadlines[FIRST_RESPONSE] = ticket["first_response_due_at"]
    return deadlines


def review(ticket, now, settings):
    """What is owed for ``ticket`` at ``now`` under ``settings`` (calendar, due_soon_minutes,
    escalate_to_alliance_after)."""
    calendar = settings.calendar
    deadlines = deadlines_of(ticket)
    due_soon, overdue, notices = list(ticket["due_soon_sent"]), list(ticket["overdue_sent"]), []
    for target, due_at in deadlines.items():
        if due_at <= now and target not in overdue:
            notices.append(Notice("overdue", target, due_at))
            overdue.append(target)
        elif (
            now < due_at
            and target not in due_soon + overdue
            and calendar.working_minutes(now, due_at) <= settings.due_soon_minutes
        ):
            notices.append(Notice("due_soon", target, due_at))
            due_soon.append(target)
    missed = [due for due in deadlines.values() if due <= now]
    missed_since = min(missed) if missed else None
    level = 0
    if missed_since is not None:
        overdue_for = calendar.working_minutes(missed_since, now)
        level = 2 if overdue_for >= settings.escalate_to_alliance_after else 1
    escalations = tuple(ESCALATIONS[n] for n in range(ticket["escalation_level"] + 1, level + 1))
    return Review(tuple(notices), escalations, missed_since, due_soon, overdue, level)


STANDINGS = ("on_time", "due_soon", "overdue", "paused")
YEAR = timedelta(days=366)


def standing(ticket, calendar, now, due_soon_minutes):
    """Where an open ticket stands against the deadline that counts now — the first response
    while it is not accepted, else the resolution — in working time, as the SLA sweep counts it:
    ``{"target", "due_at", "working_minutes_left" (negative: overdue by), "state"}``; None for a
    ticket no deadline runs for any more (resolved, closed, rejected, cancelled). While the clock
    is paused (waiting on the merchant) the minutes left are those left when it stopped."""
    status = ticket["status"]
    if status not in SLA_RUNNING and status not in SLA_PAUSED:
        return None
    target, due = (
        (FIRST_RESPONSE, ticket["first_response_due_at"])
        if status == SUBMITTED
        else (RESOLUTION, ticket["resolution_due_at"])
    )
    at = ticket.get("sla_paused_at") if status in SLA_PAUSED else None
    at = at or now
    # Overdue by more than a year is counted as a year (the count walks the calendar day by day).
    left = calendar.working_minutes(at, due) if due > at else -calendar.working_minutes(max(due, at - YEAR), at)
    if status in SLA_PAUSED:
        state = "paused"
    elif due <= at:
        state = "overdue"
    else:
        state = "due_soon" if left <= due_soon_minutes else "on_time"
    return {"target": target, "due_at": due, "working_minutes_left": int(round(left)), "state": state}
