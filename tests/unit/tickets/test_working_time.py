from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance_tickets.domain.working_time import WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
# 2026: National Day and Mid-Autumn off 1–8 October; Sunday 20 September and Saturday 10 October worked.
CALENDAR = WorkingCalendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 9)),
    workdays=frozenset({date(2026, 9, 20), date(2026, 10, 10)}),
)


def at(day, hour, minute=0):
    return datetime(2026, *day, hour, minute, tzinfo=SH)


def test_minutes_count_only_opening_hours_of_working_days():
    assert CALENDAR.working_minutes(at((11, 27), 9), at((11, 27), 10)) == 60  # Friday
    assert CALENDAR.working_minutes(at((11, 27), 17), at((11, 30), 9)) == 30 + 30  # over a weekend
    assert CALENDAR.working_minutes(at((11, 28), 9), at((11, 29), 17)) == 0  # Saturday and Sunday
    assert CALENDAR.working_minutes(at((11, 27), 10), at((11, 27), 9)) == 0


def test_holidays_stop_the_clock_and_make_up_days_run_it():
    assert CALENDAR.working_minutes(at((10, 1), 9), at((10, 8), 17)) == 0
    assert CALENDAR.working_minutes(at((10, 10), 8, 30), at((10, 10), 17, 30)) == 9 * 60  # a Saturday
    # Four working hours from Wednesday 30 September 15:30: 2 h that day, 2 h on Friday 9 October.
    assert CALENDAR.add(at((9, 30), 15, 30), 240) == at((10, 9), 10, 30)
    # From Friday 9 October 16:30: 1 h that day, 3 h on the make-up Saturday.
    assert CALENDAR.add(at((10, 9), 16, 30), 240) == at((10, 10), 11, 30)


def test_adding_from_outside_opening_hours_starts_at_the_next_opening():
    assert CALENDAR.add(at((11, 27), 20), 60) == at((11, 30), 9, 30)
    assert CALENDAR.add(at((11, 28), 12), 0) == at((11, 30), 8, 30)


def test_a_calendar_must_open_before_it_closes():
    with pytest.raises(ValueError):
        WorkingCalendar(opens=time(18), closes=time(9))


def test_from_config():
    calendar = WorkingCalendar.from_config(
        {"opens": "09:00", "closes": "18:00", "weekdays": [0, 1, 2, 3, 4, 5], "holidays": ["2026-12-31"]}
    )
    assert calendar.is_working_day(date(2026, 11, 28))  # a Saturday, open six days a week
    assert not calendar.is_working_day(date(2026, 12, 31))


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(SH))


@given(moments, st.integers(min_value=0, max_value=60 * 24 * 30))
def test_adding_then_measuring_gives_back_the_minutes(start, minutes):
    end = CALENDAR.add(start, minutes)
    assert end >= start
    assert abs(CALENDAR.working_minutes(start, end) - minutes) < 1e-6


@given(moments, moments, moments)
def test_working_minutes_add_up_over_consecutive_spans(a, b, c):
    a, b, c = sorted([a, b, c])
    assert abs(CALENDAR.working_minutes(a, c) - CALENDAR.working_minutes(a, b) - CALENDAR.working_minutes(b, c)) < 1e-6
    assert CALENDAR.working_minutes(a, c) <= (c - a) / timedelta(minutes=1)


def test_sla_targets_default_per_mode_and_override_per_category():
    from alliance_tickets.domain.sla import SlaPolicy, Targets

    policy = SlaPolicy(
        {
            "default": {
                "on_the_spot": {"first_response": 30, "resolution": 120},
                "assisted": {"first_response": 240, "resolution": 2400},
            },
            "bank_financing": {"assisted": {"resolution": 4800}},
        }
    )
    assert policy.targets("bank_financing", "assisted") == Targets(240, 4800)
    assert policy.targets("bank_financing", "on_the_spot") == Targets(30, 120)
    with pytest.raises(ValueError):
        SlaPolicy({"default": {"assisted": {"first_response": 1, "resolution": 2}}})


def test_a_pause_moves_the_deadline_by_the_working_time_it_took():
    from alliance_tickets.domain.sla import SlaPolicy

    deadline = at((11, 30), 17, 30)  # Monday closing time
    # Paused Monday 9:30 (8 h left), resumed Wednesday 10:00: 8 h from then is Thursday 9:00.
    assert SlaPolicy.resumed_deadline(CALENDAR, at((11, 30), 9, 30), deadline, at((12, 2), 10)) == at((12, 3), 9)
