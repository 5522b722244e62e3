"""Follow-up calls (回访): who calls a merchant back, by when, which closed demands get one, and
what a call may find out.

A poor rating (1–2) always asks for a call (the case reopens too); of the demands that close
otherwise — confirmed with a good rating, or closed by themselves — a configured share is drawn
(``FOLLOW_UP_SAMPLE_SHARE``), so that "closed" can be told apart from "solved" in the figures. The
draw is a hash of the ticket's id, not a random number: the same ticket is always drawn or not,
whichever instance closes it, and a test can know the answer.

The district's branch secretary calls — the supervisor of the handling, not the handler whose
work was rated — within a working day of the centre's calendar. The call is put on the ticket's
timeline (for staff only) and announced, so that whoever should call is told.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from alliance_contracts.tickets import FOLLOW_UP_OUTCOMES, FOLLOW_UP_REASONS
from alliance_platform.errors import Conflict

POOR_RATING, SAMPLE = FOLLOW_UP_REASONS
SOLVED, NOT_SOLVED, UNREACHABLE = FOLLOW_UP_OUTCOMES
OUTCOME_NOTES = {SOLVED: "回访：问题已解决", NOT_SOLVED: "回访：问题未解决", UNREACHABLE: "回访：未能联系到商户"}
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


def sampled_call(calendar, closed_at):
    """The call owed to a closed demand the sample drew."""
    due_at = calendar.add(closed_at, CALL_WITHIN_WORKING_MINUTES)
    local = due_at.astimezone(calendar.timezone)
    return FollowUpCall(due_at, f"抽样回访：请于{local.month}月{local.day}日 {local:%H:%M}前回访商户，核实问题是否解决")


def drawn(ticket_id, share):
    """Whether the sample of ``share`` (0 to 1) draws the closed ticket ``ticket_id``."""
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.sha256(str(ticket_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def require_owed(call, reference):
    """A call's outcome is recorded once."""
    if call is None:
        raise Conflict(f"{reference} has no follow-up call owed")
    if call["outcome"] is not None:
        raise Conflict(f"the follow-up call of {reference} was recorded already: {call['outcome']}")
