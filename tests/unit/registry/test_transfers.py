"""The floating member's transfer (组织关系转接) as rules: who may start one, the open transfer's
two ends, the dates each step may bear, the state a member's record shows, and the activity
card's period (流动党员活动证)."""

from datetime import date

import pytest

from alliance_contracts.registry import TRANSFER_DECLINE_REASONS
from alliance_platform.errors import Conflict, ValidationError
from alliance_registry.domain import transfers

ARRIVED = date(2026, 2, 10)
FLOATING = {
    "floating": True,
    "transferred_in_on": None,
    "arrived_on": ARRIVED,
    "transfer_due_on": date(2026, 8, 10),
    "activity_card_no": "鲁流2026-0117",
    "activity_card_issued_on": date(2026, 2, 12),
}
RESIDENT = {**FLOATING, "floating": False, "arrived_on": None, "transfer_due_on": None, "activity_card_issued_on": None}
STARTED = {"status": "started", "started_on": date(2026, 8, 12)}


def test_a_floating_member_not_yet_transferred_without_an_open_transfer_may_start_one():
    transfers.check_can_start(FLOATING, None)
    with pytest.raises(Conflict, match="only a floating"):
        transfers.check_can_start(RESIDENT, None)
    with pytest.raises(Conflict, match="already transferred"):
        transfers.check_can_start({**FLOATING, "transferred_in_on": date(2026, 9, 1)}, None)
    with pytest.raises(Conflict, match="already open"):
        transfers.check_can_start(FLOATING, STARTED)


def test_a_transfer_starts_between_the_arrival_and_today():
    on_day = date(2026, 9, 1)
    assert transfers.started_on(FLOATING, None, on_day) == on_day
    assert transfers.started_on(FLOATING, ARRIVED, on_day) == ARRIVED
    for day in (date(2026, 2, 9), date(2026, 9, 2)):
        with pytest.raises(ValidationError) as refused:
            transfers.started_on(FLOATING, day, on_day)
        assert "started_on" in refused.value.fields


def test_only_a_started_transfer_completes_or_is_declined():
    transfers.check_open(STARTED, "be completed")
    for status in ("completed", "declined"):
        with pytest.raises(Conflict, match=f"is {status}"):
            transfers.check_open({**STARTED, "status": status}, "be completed")


def test_a_transfer_completes_between_its_start_and_today():
    on_day = date(2026, 9, 1)
    assert transfers.completed_on(STARTED, None, on_day) == on_day
    assert transfers.completed_on(STARTED, date(2026, 8, 12), on_day) == date(2026, 8, 12)
    for day in (date(2026, 8, 11), date(2026, 9, 2)):
        with pytest.raises(ValidationError) as refused:
            transfers.completed_on(STARTED, day, on_day)
        assert "completed_on" in refused.value.fields


def test_other_as_a_decline_reason_needs_a_note_and_the_reasons_are_the_contracts():
    transfers.check_decline("member_declines", None)
    transfers.check_decline("other", "回原籍创业")
    with pytest.raises(ValidationError) as refused:
        transfers.check_decline("other", None)
    assert "note" in refused.value.fields
    assert transfers.DECLINE_REASONS == TRANSFER_DECLINE_REASONS


@pytest.mark.parametrize(
    "member, latest, on_day, expected",
    [
        (RESIDENT, None, date(2026, 9, 1), None),
        (FLOATING, None, date(2026, 8, 9), "not_due"),
        (FLOATING, None, date(2026, 8, 10), "due"),
        (FLOATING, STARTED, date(2026, 8, 20), "started"),
        (FLOATING, {**STARTED, "status": "declined"}, date(2026, 8, 20), "declined"),
        (
            {**FLOATING, "transferred_in_on": date(2026, 8, 20)},
            {**STARTED, "status": "completed"},
            date(2026, 9, 1),
            "completed",
        ),
        ({**FLOATING, "transferred_in_on": date(2026, 8, 20)}, None, date(2026, 9, 1), "completed"),
    ],
)
def test_the_state_a_members_record_shows(member, latest, on_day, expected):
    assert transfers.state(member, latest, on_day) == expected


def test_the_activity_card_is_valid_six_calendar_months_from_its_issue():
    card = transfers.activity_card(FLOATING, date(2026, 8, 12))
    assert card == {
        "card_no": "鲁流2026-0117",
        "issued_on": date(2026, 2, 12),
        "valid_until": date(2026, 8, 12),
        "expired": False,
        "days_left": 0,
    }
    assert transfers.activity_card(FLOATING, date(2026, 8, 13))["expired"] is True
    assert transfers.activity_card(FLOATING, date(2026, 8, 1))["days_left"] == 11
    end_of_august = transfers.activity_card(
        {**FLOATING, "activity_card_issued_on": date(2026, 8, 31)}, date(2026, 9, 1)
    )
    assert end_of_august["valid_until"] == date(2027, 2, 28)


def test_no_card_period_without_a_card_or_for_a_resident_member():
    assert transfers.activity_card({**FLOATING, "activity_card_issued_on": None}, date(2026, 3, 1)) is None
    assert transfers.activity_card(RESIDENT, date(2026, 3, 1)) is None
