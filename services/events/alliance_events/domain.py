"""Activities run jointly (活动联抓): the rules, in plain Python.

- An activity moves draft → published → registration_closed → in_progress → completed, or is
  cancelled with a reason; an illegal step is a ``Conflict``.
- Seats: a registration is confirmed while the activity has seats overall and the registrant's
  district has seats in its quota (when the activity sets quotas); otherwise it waits, in order.
  A cancellation frees a seat for the first waiting registration that fits.
- Calendar coordination: a themed promotion that overlaps another district's promotion in time and
  shares a theme tag is refused unless the organiser overrides it with a reason.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from dateutil.rrule import WEEKLY, rrule

from alliance_platform.errors import Conflict, ValidationError

DRAFT, PUBLISHED, REGISTRATION_CLOSED, IN_PROGRESS, COMPLETED, CANCELLED = (
    "draft",
    "published",
    "registration_closed",
    "in_progress",
    "completed",
    "cancelled",
)
STATES = (DRAFT, PUBLISHED, REGISTRATION_CLOSED, IN_PROGRESS, COMPLETED, CANCELLED)

TRANSITIONS = {
    "publish": ({DRAFT}, PUBLISHED),
    "close_registration": ({PUBLISHED}, REGISTRATION_CLOSED),
    "start": ({PUBLISHED, REGISTRATION_CLOSED}, IN_PROGRESS),
    "complete": ({IN_PROGRESS}, COMPLETED),
    "cancel": ({DRAFT, PUBLISHED, REGISTRATION_CLOSED, IN_PROGRESS}, CANCELLED),
}

TYPES = {
    "themed_promotion": "主题消费活动",
    "training": "培训",
    "study_visit": "参观学习",
    "holiday_tutoring": "假期托管辅导",
    "evaluation": "评选",
    "symposium": "座谈会",
    "volunteer_service": "志愿服务",
    "party_meeting": "党员活动",
}
AUDIENCES = ("merchants", "party_members", "staff", "children")
# Activities one series may hold: each is created, with its own registrations, in one transaction.
MAX_SERIES_DATES = 200

CONFIRMED, WAITLISTED, CANCELLED_REGISTRATION, ATTENDED, NO_SHOW = (
    "confirmed",
    "waitlisted",
    "cancelled",
    "attended",
    "no_show",
)

# Check-in codes avoid characters people misread on a printed card (0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def next_state(current, action):
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise Conflict(
            f"cannot {action.replace('_', ' ')} an activity that is {current} (only when {', '.join(sorted(sources))})"
        )
    return target


@dataclass(frozen=True)
class Seats:
    capacity: int
    quotas: dict  # district -> seats reserved for its registrants (absent: no quota)
    confirmed: int  # confirmed registrations now
    confirmed_by_district: dict  # district -> confirmed now

    def fits(self, district):
        if self.confirmed >= self.capacity:
            return False
        quota = self.quotas.get(district)
        return quota is None or self.confirmed_by_district.get(district, 0) < quota


def first_that_fits(waiting, seats):
    """The first waiting registration (in order) a freed seat can confirm, or None."""
    return next((registration for registration in waiting if seats.fits(registration["district_id"])), None)


def check_in_code(length=8):
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def clashes(activity, others):
    """Other districts' themed promotions overlapping ``activity`` in time and sharing a theme tag."""
    if activity["type"] != "themed_promotion":
        return []
    organisers = set(activity["organisers"])
    tags = set(activity["theme_tags"])
    found = []
    for other in others:
        if other["id"] == activity["id"] or other["type"] != "themed_promotion":
            continue
        if other["status"] not in (PUBLISHED, REGISTRATION_CLOSED, IN_PROGRESS):
            continue
        if set(other["organisers"]) <= organisers:
            continue  # the same organisers coordinate among themselves
        overlaps = other["starts_at"] < activity["ends_at"] and activity["starts_at"] < other["ends_at"]
        shared = tags & set(other["theme_tags"])
        if overlaps and shared:
            found.append({"activity_id": str(other["id"]), "title": other["title"], "shared_tags": sorted(shared)})
    return found


def series_length(first_day, weekdays, until):
    """How many days from ``first_day`` through ``until`` fall on ``weekdays`` — counted, not listed."""
    if until < first_day:
        return 0
    weeks, rest = divmod((until - first_day).days + 1, 7)
    return weeks * len(weekdays) + sum((first_day.weekday() + n) % 7 in weekdays for n in range(rest))


def series_dates(first_start, first_end, weekdays, until, timezone):
    """The (start, end) of each date of a recurring activity: on ``weekdays`` (0 = Monday) from the
    first date through ``until``, at the first date's local time of day.

    The dates are counted before any is made: a rule with none, or more than ``MAX_SERIES_DATES``,
    is a ``ValidationError`` however far away ``until`` lies.
    """
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


def winners(tally, count):
    """The ``count`` nominees with most votes; a tie goes to the earlier nomination."""
    ranked = sorted(tally, key=lambda nominee: (-nominee["votes"], nominee["nominated_at"]))
    return ranked[:count]
