"""A demand's life (需求的生命周期): which step may follow which, in plain Python.

    submitted ─accept→ accepted ─start→ in_progress ─resolve→ resolved ─close→ closed
                                         │   ▲   │                │ ▲
                          request_info ──┘   │   └── refer ──┐    │ └ reopen (dispute or rating ≤ 2,
                waiting_on_merchant ─provide_info┘  referred ─record_partner_reply→ in_progress
    reject (reason required) from submitted or accepted; cancel (by the merchant) while open;
    merge (a duplicate into another demand of the same merchant) while open: closed, with
    ``merged_into`` naming the survivor.

Whoever accepts a case owns it (首接负责制). An illegal step is a ``Conflict`` and changes nothing.
The SLA clock stops while the ticket waits on the merchant.
"""

from datetime import timedelta

from alliance_contracts.tickets import STATUSES
from alliance_platform.errors import Conflict

# The states are the event contract's (what ``ticket_status_changed`` may say), named here.
STATES = STATUSES
SUBMITTED, ACCEPTED, IN_PROGRESS, WAITING_ON_MERCHANT, REFERRED, RESOLVED, CLOSED, REJECTED, CANCELLED = STATES
FINAL = frozenset({CLOSED, REJECTED, CANCELLED})
# Still being worked on: not final, not resolved (a resolved ticket waits for the merchant's word).
OPEN = frozenset(STATES) - FINAL - {RESOLVED}
# States in which the SLA clock does not run.
SLA_PAUSED = frozenset({WAITING_ON_MERCHANT})
# States in which a deadline can run out (the SLA sweep looks at these only).
SLA_RUNNING = OPEN - SLA_PAUSED

# action -> (states it may start from, state it leads to)
TRANSITIONS = {
    "accept": ({SUBMITTED}, ACCEPTED),
    "start": ({ACCEPTED}, IN_PROGRESS),
    "request_info": ({IN_PROGRESS}, WAITING_ON_MERCHANT),
    "provide_info": ({WAITING_ON_MERCHANT}, IN_PROGRESS),
    "refer": ({IN_PROGRESS}, REFERRED),
    "record_partner_reply": ({REFERRED}, IN_PROGRESS),
    "resolve": ({IN_PROGRESS}, RESOLVED),
    "close": ({RESOLVED}, CLOSED),
    "reopen": ({RESOLVED, CLOSED}, IN_PROGRESS),
    "reject": ({SUBMITTED, ACCEPTED}, REJECTED),
    "cancel": (OPEN, CANCELLED),
    # A duplicate is closed with a reason (merged_into), not by a state of its own: every caller
    # already knows "closed", and the survivor carries the demand on.
    "merge": (OPEN, CLOSED),
}

REOPEN_WINDOW_DAYS = 7
AUTO_CLOSE_DAYS = 7
LOW_RATING = 2


def next_state(current, action):
    """The state ``action`` leads to from ``current``; ``Conflict`` if the step is not allowed."""
    try:
        sources, target = TRANSITIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}") from None
    if current not in sources:
        allowed = ", ".join(sorted(sources))
        raise Conflict(f"cannot {action.replace('_', ' ')} a ticket that is {current} (only when {allowed})")
    return target


def allowed_actions(current):
    return sorted(action for action, (sources, _) in TRANSITIONS.items() if current in sources)


def within_reopen_window(resolved_at, now):
    """Whether a merchant may still dispute a resolution made at ``resolved_at``."""
    return now - resolved_at <= timedelta(days=REOPEN_WINDOW_DAYS)


def auto_closes_before(now):
    """Resolutions made at or before this moment that nobody confirmed or disputed close at ``now``."""
    return now - timedelta(days=AUTO_CLOSE_DAYS)


def rating_reopens(rating):
    """A poor satisfaction rating sends the case back to work instead of closing it, and puts a
    follow-up call to the merchant on its timeline."""
    return rating <= LOW_RATING
