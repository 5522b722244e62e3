"""Reminders before an activity starts: its confirmed registrants are told 24 h and 2 h before,
once per window. A window already overtaken by a nearer one (an activity published late) is
skipped rather than sent out of time."""

from datetime import timedelta

from alliance_contracts.events import REMINDER_WINDOWS

# Each window's name (as the event names it) and how long before the start it opens.
WINDOWS = tuple(zip(REMINDER_WINDOWS, (timedelta(hours=24), timedelta(hours=2)), strict=True))
# Reminders are looked for this long before the start (the earliest window).
EARLIEST = WINDOWS[0][1]
LAST = WINDOWS[-1][0]


def due(starts_at, now, sent):
    """The window to remind of now, or None: the nearest one that has come and was not sent."""
    left = starts_at - now
    window = next((name for name, before in reversed(WINDOWS) if left <= before), None)
    return None if window is None or window in sent else window
