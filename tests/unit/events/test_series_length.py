"""A series is counted before any of its dates is made, and the count is the number of dates."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import WEEKLY, rrule
from hypothesis import given
from hypothesis import strategies as st

from alliance_events.domain import series
from alliance_platform.errors import ValidationError

SH = ZoneInfo("Asia/Shanghai")


@given(
    first=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    days=st.integers(-10, 800),
)
def test_the_count_is_the_number_of_dates_the_rule_makes(first, weekdays, days):
    until = first + timedelta(days=days)
    start = datetime.combine(first, time(9))
    made = list(rrule(WEEKLY, byweekday=sorted(weekdays), dtstart=start, until=datetime.combine(until, time(9))))
    assert series.series_length(first, weekdays, until) == len(made)


@pytest.mark.parametrize("until", [date(9999, 12, 31), date(2027, 1, 8)])
def test_a_series_past_its_limit_is_refused_without_making_its_dates(until):
    first = datetime(2026, 6, 8, 9, 0, tzinfo=SH)  # 2026-06-08 .. 2027-01-08 is 215 days
    with pytest.raises(ValidationError, match="too long") as refused:
        series.series_dates(first, first + timedelta(hours=2), set(range(7)), until, SH)
    assert "at most 200" in refused.value.fields["until"][0]
