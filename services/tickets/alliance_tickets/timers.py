"""The SLA sweep (a timer): deadlines near or missed, escalation, and closing resolved tickets
nobody confirmed; and the reminders of supervised demands (督办), in working time.

What a ticket is owed is ``domain.deadlines``; each warning and escalation is sent by the same
use-case functions, and an unconfirmed resolution closes by the same lifecycle step, timeline line
and events as a merchant's close (``use_cases``). Each warning goes once per ticket and deadline,
each escalation level once per ticket. ``FOR UPDATE SKIP LOCKED`` lets two instances of the service
sweep side by side without sending anything twice, and keeps a sweep from waiting on a ticket
someone is handling.
"""

from . import storage, use_cases
from .domain import deadlines
from .domain import lifecycle as lc

# Tickets looked at per sweep, for each of its two parts; the rest wait for the next sweep.
BATCH = 500


def sweep_deadlines(ctx):
    """Returns counts of what was sent: {"due_soon": n, "overdue": n, "escalated": n, "auto_closed": n}."""
    counts = {"due_soon": 0, "overdue": 0, "escalated": 0, "auto_closed": 0}
    for ticket in storage.tickets_near_deadline(ctx.session, ctx.now + deadlines.LOOKAHEAD, BATCH):
        review = deadlines.review(ticket, ctx.now, ctx.settings)
        for notice in review.notices:
            use_cases.announce_deadline(ctx, ticket, notice)
            counts[notice.kind] += 1
        for escalation in review.escalations:
            use_cases.escalate(ctx, ticket, escalation, review.missed_since)
            counts["escalated"] += 1
        if review.changes(ticket):
            storage.mark_deadlines(ctx.session, ticket["id"], review.due_soon_sent, review.overdue_sent, review.level)
    for ticket in storage.resolved_before(ctx.session, lc.auto_closes_before(ctx.now), BATCH):
        use_cases.close_unconfirmed(ctx, ticket)
        counts["auto_closed"] += 1
    return counts


def remind_supervised(ctx):
    """Supervised demands whose reminder is due (in working time): each owner reminded once per
    interval. Returns how many reminders went out."""
    due = storage.supervisions_to_remind(ctx.session, ctx.now, BATCH)
    for placed in due:
        use_cases.remind_supervised(ctx, placed)
    return len(due)
