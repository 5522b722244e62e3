"""Supervision (督办): a district leader puts a demand that is overdue or escalated under
supervision, with a due date; its owner is reminded in working time until it leaves work.

Who may supervise: an administrator (the alliance, level 2 of escalation) or the district's branch
secretary (level 1: the one an overdue demand of the district escalates to). Of ``identity.ROLES``
these are the district's leaders; ``staff`` are the handlers whose work is supervised, so they may
not supervise it themselves.

Reminders come every ``remind_every`` working minutes of the centre's calendar (none at night or
on holidays), marked overdue once the supervision's own due date has passed. A supervision is
lifted by the step that takes the demand out of work: resolved, or closed, rejected, cancelled,
merged (a reopened demand is not put back under supervision by itself).
"""

from alliance_platform.errors import Conflict, Forbidden, ValidationError

from . import lifecycle as lc

SUPERVISOR_ROLES = ("admin", "branch_secretary")

# The lifecycle step that lifts a supervision, and the reason recorded.
LIFTED_BY = {"resolve": "resolved", "close": "closed", "reject": "rejected", "cancel": "cancelled", "merge": "merged"}


def require_supervisor(caller, ticket):
    if caller.is_admin:
        return
    if (
        caller.kind == "staff"
        and caller.has_any_role(("branch_secretary",))
        and caller.covers_district(ticket["district_id"])
    ):
        return
    raise Forbidden(
        f"only an administrator or the branch secretary of {ticket['district_id']} may supervise {ticket['reference']}"
    )


def require_supervisable(ticket, overdue, due_at, now):
    """A demand in work that is overdue or escalated, not supervised already, a due date ahead."""
    reference = ticket["reference"]
    if ticket["status"] not in lc.OPEN:
        raise Conflict(f"{reference} is {ticket['status']}: only a demand in work can be supervised")
    if ticket["supervision_due_at"] is not None:
        raise Conflict(f"{reference} is under supervision already")
    if not (overdue or ticket["escalation_level"] > 0):
        raise Conflict(f"{reference} is neither overdue nor escalated: nothing to supervise")
    if due_at <= now:
        raise ValidationError("due date passed", {"due_at": ["the supervision's due date must lie ahead"]})


def next_reminder(calendar, after, remind_every):
    return calendar.add(after, remind_every)


def lifted_because(action):
    """Why the step ``action`` lifts a supervision, or None if it does not."""
    return LIFTED_BY.get(action)
