"""What time does by itself: registration closes at its deadline, activities start at their start,
waiting-list offers past their time pass to the next waiter, and confirmed registrants are reminded
24 h and 2 h before — once per window.

Each job moves activities through the same transition and use case as the commands
(``use_cases.advance``, ``use_cases.expire_offers``, ``use_cases.remind``). Safe with two instances
side by side: the rows are claimed with ``FOR UPDATE SKIP LOCKED``, and each reminder window is
recorded on the activity in the transaction that announces it.

And the branches' rhythm (三会一课, ``run_branch_rhythm``): each period a branch missed a kind of
meeting in is announced once, its key recorded in the transaction that announces it.
"""

from . import queries, storage, use_cases
from .domain import lifecycle, reminders
from .domain.activity import EVALUATION


def run_schedule(ctx):
    """One pass of the schedule; what it did, counted."""
    session, now = ctx.session, ctx.now
    closing = storage.claim_due_to_close(session, now, lifecycle.sources("close_registration"))
    for activity in closing:
        use_cases.advance(ctx, activity, "close_registration")
    # Evaluations do not start: they are announced until their voting is closed.
    starting = storage.claim_due_to_start(session, now, lifecycle.sources("start"), except_type=EVALUATION)
    for activity in starting:
        use_cases.advance(ctx, activity, "start")
    # After closing and starting, which end the offers of those activities without passing them on.
    expiring = storage.claim_with_expired_offers(session, now)
    expired = sum(use_cases.expire_offers(ctx, activity) for activity in expiring)
    due = storage.claim_due_for_reminders(session, now, lifecycle.UPCOMING, reminders.EARLIEST, reminders.LAST)
    reminded = sum(use_cases.remind(ctx, activity) for activity in due)
    return {
        "registration_closed": len(closing),
        "started": len(starting),
        "offers_expired": expired,
        "reminders": reminded,
    }


def run_branch_rhythm(ctx, branches):
    """One look at every branch of the register (``branches``) against the meetings' rhythm on
    today's local date: the secretary of a branch overdue with a kind is told, once per period
    missed (recorded in this transaction with the event); how many were told."""
    today = ctx.now.astimezone(ctx.settings.timezone).date()
    every = branches.all()
    held = storage.last_held(ctx.session, [b["id"] for b in every], ctx.settings.timezone)
    told = 0
    for branch in every:
        for kind, _, standing in queries.standings(ctx, branch, held, today):
            if standing.overdue:
                told += use_cases.announce_overdue(ctx, branch, kind, standing)
    return {"overdue_told": told}
