"""The follow-up call (回访) a poor rating asks for.

The district's branch secretary calls the merchant — the supervisor of the handling, not the
handler whose work was rated — within a working day of the centre's calendar. The call is put on
the ticket's timeline (for staff only) and announced, so that whoever should call is told.
"""

from dataclasses import dataclass
from datetime import datetime

# A working day of the default calendar (08:30–17:30).
CALL_WITHIN_WORKING_MINUTES = 540


@dataclass(frozen=True)
class FollowUpCall:
    due_at: datetime
    note: str  # the timeline's line, in the centre's local time


def follow_up_call(calendar, rated_at, rating):
    """The call owed for ``rating`` given at ``rated_at``."""
    due_at = calendar.add(rated_at, CALL_WITHIN_WORKING_MINUTES)
    local = due_at.astimezone(calendar.timezone)
    return FollowUpCall(due_at, f"满意度评分{rating}分：请于{local.month}月{local.day}日 {local:%H:%M}前回访商户")
