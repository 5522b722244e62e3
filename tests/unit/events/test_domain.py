from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance_events.domain import calendar, check_in, evaluation, lifecycle, registration, reminders, series
from alliance_events.domain.seats import Seats, to_offer
from alliance_platform.errors import Conflict

SH = ZoneInfo("Asia/Shanghai")


def test_an_activity_moves_forward_or_is_cancelled():
    state = lifecycle.DRAFT
    for action in ("publish", "close_registration", "start", "complete"):
        state = lifecycle.next_state(state, action)
    assert state == lifecycle.COMPLETED
    with pytest.raises(Conflict, match="cannot cancel an activity that is completed"):
        lifecycle.next_state(lifecycle.COMPLETED, "cancel")
    assert lifecycle.next_state(lifecycle.PUBLISHED, "cancel") == lifecycle.CANCELLED


def test_seats_respect_capacity_and_district_quotas():
    seats = Seats(capacity=3, quotas={"aodele": 1}, confirmed=1, confirmed_by_district={"aodele": 1})
    assert not seats.fits("aodele") and seats.fits("outlets")
    full = Seats(capacity=1, quotas={}, confirmed=1, confirmed_by_district={})
    assert not full.fits("outlets")


def test_a_freed_seat_is_offered_to_the_first_waiting_registration_that_fits():
    seats = Seats(capacity=2, quotas={"aodele": 1}, confirmed=1, confirmed_by_district={"aodele": 1})
    waiting = [{"id": 1, "district_id": "aodele"}, {"id": 2, "district_id": "outlets"}]
    assert [r["id"] for r in to_offer(waiting, seats)] == [2]
    assert to_offer([{"id": 1, "district_id": "aodele"}], seats) == []


@given(
    capacity=st.integers(min_value=0, max_value=30),
    quota=st.integers(min_value=0, max_value=30),
    arrivals=st.lists(st.sampled_from(["aodele", "outlets", "wholesale_city"]), max_size=80),
)
def test_confirming_one_by_one_never_exceeds_capacity_or_quota(capacity, quota, arrivals):
    confirmed, by_district = 0, {}
    for district in arrivals:
        seats = Seats(capacity, {"aodele": quota}, confirmed, dict(by_district))
        if seats.fits(district):
            confirmed += 1
            by_district[district] = by_district.get(district, 0) + 1
    assert confirmed <= capacity and by_district.get("aodele", 0) <= quota


def _promotion(id, organisers, tags, start_day, days, status="published"):
    start = datetime(2026, 4, start_day, 9, tzinfo=UTC)
    return {
        "id": id,
        "type": "themed_promotion",
        "title": f"promotion {id}",
        "organisers": organisers,
        "theme_tags": tags,
        "starts_at": start,
        "ends_at": start + timedelta(days=days),
        "status": status,
    }


def test_a_clash_is_another_districts_overlapping_promotion_with_a_shared_theme():
    mine = _promotion("new", ["outlets"], ["野餐", "露营"], 3, 3)
    others = [
        _promotion("wholesale", ["wholesale_city"], ["野餐", "休闲装备"], 4, 2),  # clash: picnic, overlapping
        _promotion("aodele", ["aodele"], ["运动"], 3, 3),  # overlapping, other theme
        _promotion("later", ["wholesale_city"], ["野餐"], 10, 1),  # same theme, later
        _promotion("ours", ["outlets"], ["露营"], 3, 1),  # our own district's
        _promotion("off", ["aodele"], ["露营"], 3, 1, status="cancelled"),
    ]
    assert calendar.clashes(mine, others) == [
        {"activity_id": "wholesale", "title": "promotion wholesale", "shared_tags": ["野餐"]}
    ]
    assert calendar.clashes({**mine, "type": "training"}, others) == []


def test_a_series_lands_on_its_weekdays_at_the_same_local_time():
    first = datetime(2026, 7, 13, 9, 0, tzinfo=SH)  # a Monday
    dates = series.series_dates(first, first + timedelta(hours=2), {0, 2}, date(2026, 7, 24), SH)
    assert [d[0].strftime("%a %d %H:%M") for d in dates] == [
        "Mon 13 09:00",
        "Wed 15 09:00",
        "Mon 20 09:00",
        "Wed 22 09:00",
    ]
    assert all(end - start == timedelta(hours=2) for start, end in dates)


def test_winners_by_votes_then_earliest_nomination():
    tally = [
        {"merchant_id": "a", "votes": 3, "nominated_at": 2},
        {"merchant_id": "b", "votes": 5, "nominated_at": 3},
        {"merchant_id": "c", "votes": 3, "nominated_at": 1},
    ]
    assert [w["merchant_id"] for w in evaluation.winners(tally, 2)] == ["b", "c"]


def test_check_in_codes_are_unambiguous():
    codes = {registration.check_in_code() for _ in range(200)}
    assert len(codes) == 200 and all(set(c) <= set(check_in.CODE_ALPHABET) and len(c) == 8 for c in codes)
    assert not set("01IOL") & set(check_in.CODE_ALPHABET)


def test_an_evaluation_completes_by_closing_its_voting_and_the_schedule_finds_states_by_action():
    assert lifecycle.next_state(lifecycle.PUBLISHED, "close_evaluation") == lifecycle.COMPLETED
    with pytest.raises(Conflict):
        lifecycle.next_state(lifecycle.DRAFT, "close_evaluation")
    assert lifecycle.sources("start") == ["published", "registration_closed"]
    assert lifecycle.sources("close_registration") == ["published"]


def test_the_nearest_reminder_window_that_has_come_is_due_once():
    starts = datetime(2026, 6, 8, 9, tzinfo=SH)
    assert reminders.due(starts, starts - timedelta(hours=25), sent=[]) is None
    assert reminders.due(starts, starts - timedelta(hours=23), sent=[]) == "24h"
    assert reminders.due(starts, starts - timedelta(hours=23), sent=["24h"]) is None
    assert reminders.due(starts, starts - timedelta(hours=1), sent=[]) == "2h"  # the 24 h window is overtaken
    assert reminders.due(starts, starts - timedelta(hours=1), sent=["24h", "2h"]) is None
