"""Branch life (三会一课) as plain rules: the periods of a rhythm, where a branch stands against it
on a given day, the moves of a meeting and what its attendance counts."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alliance_events.domain import meetings
from alliance_events.domain.meetings import Standing, period_of, standing
from alliance_platform.errors import Conflict, Forbidden
from tests.support.harness import identity

SINCE = date(2026, 1, 1)
SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "day, rhythm, period",
    [
        (date(2026, 2, 28), "monthly", (date(2026, 2, 1), date(2026, 3, 1))),
        (date(2026, 12, 31), "monthly", (date(2026, 12, 1), date(2027, 1, 1))),
        (date(2026, 5, 1), "quarterly", (date(2026, 4, 1), date(2026, 7, 1))),
        (date(2026, 12, 2), "quarterly", (date(2026, 10, 1), date(2027, 1, 1))),
        (date(2026, 7, 1), "half_yearly", (date(2026, 7, 1), date(2027, 1, 1))),
        (date(2026, 6, 30), "yearly", (date(2026, 1, 1), date(2027, 1, 1))),
    ],
)
def test_a_rhythm_cuts_the_year_into_calendar_periods(day, rhythm, period):
    assert period_of(day, rhythm) == period


def test_a_committee_held_in_november_is_due_again_by_the_end_of_december():
    held = date(2026, 11, 20)
    assert standing("monthly", held, date(2026, 12, 31), SINCE) == Standing(held, date(2026, 12, 31), False, None)
    # The first day of January: December passed without one — the period missed is December.
    assert standing("monthly", held, date(2027, 1, 1), SINCE) == Standing(
        held, date(2026, 12, 31), True, date(2026, 12, 1)
    )
    # Still none in February: January is missed too (its secretary is told again, for January).
    assert standing("monthly", held, date(2027, 2, 3), SINCE).missed_period == date(2027, 1, 1)


def test_a_meeting_held_early_in_the_period_counts_for_it_whole():
    """Held on 1 October, a quarterly general meeting is next due by the end of the next quarter."""
    state = standing("quarterly", date(2026, 10, 1), date(2026, 12, 2), SINCE)
    assert (state.next_due, state.overdue) == (date(2027, 3, 31), False)


def test_a_branch_that_never_met_owes_one_from_the_first_period_counted():
    assert standing("quarterly", None, date(2026, 3, 31), SINCE) == Standing(None, date(2026, 3, 31), False, None)
    late = standing("quarterly", None, date(2026, 12, 2), SINCE)
    assert (late.overdue, late.next_due, late.missed_period) == (True, date(2026, 3, 31), date(2026, 7, 1))
    # Counting from a later day owes nothing before it; a period already begun is not owed.
    assert not standing("monthly", None, date(2026, 12, 2), date(2026, 12, 1)).overdue
    assert standing("quarterly", None, date(2026, 12, 2), date(2026, 11, 15)).next_due == date(2027, 3, 31)
    assert standing("monthly", None, date(2026, 12, 2), date(2026, 11, 15)).next_due == date(2026, 12, 31)


def test_the_rhythm_in_the_config_names_every_kind_with_a_known_period():
    good = {
        "branch_committee": "monthly",
        "party_group_meeting": "monthly",
        "branch_general_meeting": "quarterly",
        "party_lecture": "quarterly",
    }
    assert meetings.check_rhythm(good) == good
    with pytest.raises(ValueError, match="no rhythm for \\['party_lecture'\\]"):
        meetings.check_rhythm({k: v for k, v in good.items() if k != "party_lecture"})
    with pytest.raises(ValueError, match="unknown meeting kinds \\['tea_party'\\]"):
        meetings.check_rhythm({**good, "tea_party": "monthly"})
    with pytest.raises(ValueError, match="unknown periods"):
        meetings.check_rhythm({**good, "party_lecture": "fortnightly"})


def test_a_meeting_is_held_or_cancelled_once_and_only_while_planned():
    assert meetings.next_state(meetings.PLANNED, "hold") == meetings.HELD
    assert meetings.next_state(meetings.PLANNED, "cancel") == meetings.CANCELLED
    for done in (meetings.HELD, meetings.CANCELLED):
        for action in ("hold", "cancel"):
            with pytest.raises(Conflict, match=f"cannot {action} a meeting that is {done}"):
                meetings.next_state(done, action)


def test_the_door_opens_an_hour_before_the_start_and_closes_when_the_meeting_is_held():
    starts = datetime(2026, 12, 3, 14, 30, tzinfo=SH)
    planned = {"status": meetings.PLANNED, "starts_at": starts}
    hour = timedelta(hours=1)
    with pytest.raises(Conflict, match="check-in opens at 2026-12-03T13:30:00"):
        meetings.check_door_open(planned, starts - hour - timedelta(seconds=1), hour)
    meetings.check_door_open(planned, starts - hour, hour)
    meetings.check_door_open(planned, starts + 3 * hour, hour)  # late comers still check in
    with pytest.raises(Conflict, match="attendance is no longer taken"):
        meetings.check_door_open({**planned, "status": meetings.HELD}, starts, hour)


def test_a_meeting_is_planned_ahead_and_ends_after_it_starts():
    now = datetime(2026, 12, 2, 9, 0, tzinfo=SH)
    with pytest.raises(Conflict, match="has passed"):
        meetings.check_times(now - timedelta(minutes=1), now + timedelta(hours=1), now)
    with pytest.raises(Conflict, match="ends after it starts"):
        meetings.check_times(now + timedelta(hours=1), now + timedelta(hours=1), now)
    meetings.check_times(now, now + timedelta(hours=1), now)


def test_attendance_counts_the_excused_out_of_those_expected():
    rows = [
        {"person_id": "a", "status": "attended", "reason": None},
        {"person_id": "b", "status": "attended", "reason": None},
        {"person_id": "c", "status": "excused", "reason": "外出进货"},
        {"person_id": "d", "status": "absent", "reason": None},
    ]
    assert meetings.attendance(rows) == {
        "invited": 4,
        "attended": 2,
        "excused": 1,
        "absent": 1,
        "attendance_rate": 0.667,  # 2 of the 3 expected
    }
    assert meetings.roll(rows) == {
        "attended": ["a", "b"],
        "excused": [{"person_id": "c", "reason": "外出进货"}],
        "absent": ["d"],
    }
    assert meetings.attendance([])["attendance_rate"] is None


def test_a_branch_meeting_is_kept_by_its_districts_secretary_staff_and_administrators():
    branch = {"id": "branch_aodele", "district_id": "aodele"}
    meetings.require_secretary(identity("staff", ["branch_secretary"], ["aodele"]), branch)
    meetings.require_secretary(identity("staff", ["admin"], ["*"]), branch)
    for outsider in (
        identity("staff", ["branch_secretary"], ["outlets"]),
        identity("staff", ["party_member"], ["aodele"]),
        identity("merchant", ["merchant", "staff"], ["aodele"], merchant_id="m-1"),
    ):
        with pytest.raises(Forbidden):
            meetings.require_secretary(outsider, branch)
    # A branch the register places in no district: administrators only.
    assert not meetings.may_manage(identity("staff", ["staff"], ["*"]), None)
    assert meetings.may_manage(identity("staff", ["admin"], ["*"]), None)
