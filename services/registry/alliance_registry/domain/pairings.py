"""Pairings (结对): a registered Party member paired with an open merchant, from a day that is not
in the future until a day between the start and today; the same two once at a time."""

from alliance_platform.errors import ValidationError

ACTIVE, ENDED = STATUSES = ("active", "ended")  # as a pairing is shown: ongoing, or ended


def started_on(requested, on_day):
    day = requested or on_day
    if day > on_day:
        raise ValidationError("invalid pairing", {"started_on": ["cannot be in the future"]})
    return day


def ended_on(pairing, requested, on_day):
    day = requested or on_day
    if not pairing["started_on"] <= day <= on_day:
        raise ValidationError("invalid end", {"ended_on": ["between the start and today, both included"]})
    return day
