"""Working time on the service centre's calendar: what SLA targets (tickets) and the escalation
of unread messages (notifications) are counted in.

A target like "first response within 4 working hours" counts only the centre's opening hours on
working days: weekends and public holidays don't count, and the make-up working days (调休) that
China moves onto weekends do. The calendar is configuration, not code.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    opens: time = time(8, 30)
    closes: time = time(17, 30)
    weekdays: frozenset = frozenset(range(5))  # Monday=0 … Friday=4
    holidays: frozenset = field(default_factory=frozenset)  # dates closed although weekdays
    workdays: frozenset = field(default_factory=frozenset)  # make-up days open although weekends

    @classmethod
    def from_config(cls, config):
        """From a calendar mapping of the config (``WORKING_CALENDAR`` in the platform's defaults.yaml)."""
        return cls(
            timezone=ZoneInfo(config.get("timezone", "Asia/Shanghai")),
            opens=time.fromisoformat(config.get("opens", "08:30")),
            closes=time.fromisoformat(config.get("closes", "17:30")),
            weekdays=frozenset(config.get("weekdays", range(5))),
            holidays=frozenset(date.fromisoformat(str(d)) for d in config.get("holidays", ())),
            workdays=frozenset(date.fromisoformat(str(d)) for d in config.get("workdays", ())),
        )

    def __post_init__(self):
        if self.closes <= self.opens:
            raise ValueError("the centre must close after it opens")

    def is_working_day(self, day):
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _day_window(self, day):
        return (
            datetime.combine(day, self.opens, self.timezone),
            datetime.combine(day, self.closes, self.timezone),
        )

    def working_minutes(self, start, end):
        """Working minutes between two aware datetimes (0 if ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        start, end = start.astimezone(self.timezone), end.astimezone(self.timezone)
        total = 0.0
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                opens, closes = self._day_window(day)
                overlap = (min(closes, end) - max(opens, start)).total_seconds()
                total += max(overlap, 0.0) / 60
            day += timedelta(days=1)
        return total

    def add(self, start, minutes):
        """The moment ``minutes`` working minutes after ``start``."""
        if minutes < 0:
            raise ValueError("cannot add negative working time")
        moment = start.astimezone(self.timezone)
        remaining = timedelta(minutes=minutes)
        for _ in range(3660):  # ten years of days: a calendar with no working day never ends
            opens, closes = self._day_window(moment.date())
            if self.is_working_day(moment.date()) and moment < closes:
                moment = max(moment, opens)
                available = closes - moment
                if remaining <= available:
                    return moment + remaining
                remaining -= available
            moment = datetime.combine(moment.date() + timedelta(days=1), time(0), self.timezone)
        raise ValueError("the calendar has no working day in the next ten years")
