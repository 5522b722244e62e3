"""A recurring activity (a series): one activity per date of a weekly rule, each with its own
registrations. Its dates are counted before any is made: none, or more than ``MAX_SERIES_DATES``,
is a ``ValidationError`` however far away its last day lies."""

from datetime import datetime

from dateutil.rrule import WEEKLY, rrule

from alliance_platform.errors import ValidationError

# Activities one series may hold: each is created, with its own registrations, in one transaction.
MAX_SERIES_DATES = 200


def series_length(first_day, weekdays, until):
    """How many days from ``first_day`` through ``until`` fall on ``weekdays`` — counted, not listed."""
    if until < first_day:
        return 0
    weeks, rest = divmod((until - first_day).days + 1, 7)
    return weeks * len(weekdays) + sum((first_day.weekday() + n) % 7 in weekdays for n in range(rest))


def series_dates(first_start, first_end, weekdays, until, timezone):
    """The (start, end) of each date of a recurring activity: on ``weekdays`` (0 = Monday) from the
    first date through ``until``, at the first date's local time of day."""
    local_start = first_start.astimezone(timezone)
    count = series_length(local_start.date(), weekdays, until)
    if count == 0:
        raise ValidationError("empty series", {"weekdays": ["no date of the rule falls before until"]})
    if count > MAX_SERIES_DATES:
        raise ValidationError("series too long", {"until": [f"{count} dates; at most {MAX_SERIES_DATES} per series"]})
    duration = first_end - first_start
    rule = rrule(
        WEEKLY,
        byweekday=sorted(weekdays),
        dtstart=local_start.replace(tzinfo=None),
        until=datetime.combine(until, local_start.time()),
    )
    return [(start.replace(tzinfo=timezone), start.replace(tzinfo=timezone) + duration) for start in rule]


def occurrences(first, timezone):
    """The activities of the series whose first occurrence is ``first`` (with ``weekdays`` and
    ``until``): each at its date, its registration opening and closing as long before its start as
    the first one's."""
    dates = series_dates(first["starts_at"], first["ends_at"], set(first["weekdays"]), first["until"], timezone)
    opens_before = first["starts_at"] - first["registration_opens_at"]
    closes_before = first["starts_at"] - first["registration_closes_at"]
    return [
        {
            **first,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "registration_opens_at": starts_at - opens_before,
            "registration_closes_at": starts_at - closes_before,
        }
        for starts_at, ends_at in dates
    ]
