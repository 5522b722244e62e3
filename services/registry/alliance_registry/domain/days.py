"""The alliance's day: a day in Dezhou, on China Standard Time (no daylight saving)."""

from datetime import timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def today(now):
    """The alliance's date at the instant ``now``."""
    return now.astimezone(CHINA).date()
