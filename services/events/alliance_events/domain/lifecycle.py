"""The life of an activity: draft → published → registration_closed → in_progress → completed, or
cancelled with a reason; an evaluation (评选) completes when its voting is closed.

Every change of an activity's status, by a command or by the schedule, is ``next_state``: an
illegal step is a ``Conflict`` before anything is written.
"""

from alliance_platform.errors import Conflict

DRAFT, PUBLISHED, REGISTRATION_CLOSED, IN_PROGRESS, COMPLETED, CANCELLED = STATES = (
    "draft",
    "published",
    "registration_closed",
    "in_progress",
    "completed",
    "cancelled",
)

# Announced and not over: others see it, the calendar weighs it, people check in.
ANNOUNCED = (PUBLISHED, REGISTRATION_CLOSED, IN_PROGRESS)
# Announced and not started: registrations may still be cancelled, reminders fall due.
UPCOMING = (PUBLISHED, REGISTRATION_CLOSED)
# Nothing about it changes any more.
OVER = (COMPLETED, CANCELLED)

TRANSITIONS = {
    "publish": ({DRAFT}, PUBLISHED),
    "close_registration": ({PUBLISHED}, REGISTRATION_CLOSED),
    "start": (set(UPCOMING), IN_PROGRESS),
    "complete": ({IN_PROGRESS}, COMPLETED),
    "close_evaluation": (set(ANNOUNCED), COMPLETED),
    "cancel": ({DRAFT, *ANNOUNCED}, CANCELLED),
}


def next_state(current, action):
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise Conflict(
            f"cannot {action.replace('_', ' ')} an activity that is {current} (only when {', '.join(sorted(sources))})"
        )
    return target


def sources(action):
    """The states ``action`` moves an activity from (the schedule looks for activities in them)."""
    return sorted(TRANSITIONS[action][0])
