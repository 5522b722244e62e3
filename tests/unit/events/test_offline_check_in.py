"""The offline check-in's rules: what a roster holds of a code, its version, and what a scan
uploaded later comes to (checked in, already, a conflict at another door, rejected and why)."""

from datetime import UTC, datetime, timedelta

import pytest

from alliance_events.domain import check_in as c

NOW = datetime(2026, 6, 8, 2, 0, tzinfo=UTC)
OPENS, CLOSES = NOW - timedelta(hours=3), NOW + timedelta(hours=5)
SKEW = timedelta(minutes=5)


def _judge(holder, first=None, at=NOW, door="east"):
    return c.judge(
        {"scanned_at": at, "door": door}, holder, first, opens_at=OPENS, closes_at=CLOSES, now=NOW, skew=SKEW
    )


def test_a_roster_holds_an_hmac_of_the_normalised_code_under_its_own_key():
    key, other = c.hash_key(), c.hash_key()
    assert c.code_hash(key, " k7m3q9tx ") == c.code_hash(key, "K7M3Q9TX")
    assert c.code_hash(key, "K7M3Q9TX") != c.code_hash(other, "K7M3Q9TX"), "another roster, another hash"
    assert "K7M3Q9TX" not in c.code_hash(key, "K7M3Q9TX")


def test_the_version_changes_with_what_the_roster_says_not_with_its_order():
    a = {"holder": "r-1", "code_hash": "h1", "status": "confirmed"}
    b = {"holder": "r-2", "code_hash": "h2", "status": "confirmed"}
    assert c.roster_version([a, b]) == c.roster_version([b, a])
    assert c.roster_version([a, b]) != c.roster_version([a, {**b, "status": "cancelled"}])


def test_the_first_scan_of_an_admissible_holder_checks_them_in():
    assert _judge((c.ADMISSIBLE, "confirmed")) == (c.CHECKED_IN, None)


def test_a_holder_checked_in_at_the_same_door_is_a_repeat_and_at_another_a_conflict():
    first = {"door": "east", "scanned_at": NOW - timedelta(minutes=3)}
    assert _judge((c.ATTENDED_ALREADY, "attended"), first)[0] == c.ALREADY_CHECKED_IN
    outcome, reason = _judge((c.ATTENDED_ALREADY, "attended"), first, door="west")
    assert outcome == c.CONFLICT and "door east" in reason
    # Checked in at the door online (no scan): a repeat, not a conflict.
    assert _judge((c.ATTENDED_ALREADY, "attended"), None, door="west")[0] == c.ALREADY_CHECKED_IN


@pytest.mark.parametrize(
    "holder, at, why",
    [
        (None, NOW, "unknown code"),
        ((c.INADMISSIBLE, "cancelled"), NOW, "the registration is cancelled"),
        ((c.ADMISSIBLE, "confirmed"), NOW + SKEW + timedelta(seconds=1), "in the future"),
        ((c.ADMISSIBLE, "confirmed"), OPENS - SKEW - timedelta(seconds=1), "outside the check-in window"),
    ],
)
def test_scans_that_cannot_count_are_rejected_with_the_reason(holder, at, why):
    outcome, reason = _judge(holder, at=at)
    assert outcome == c.REJECTED and why in reason


def test_a_scan_after_the_end_is_outside_the_window_even_uploaded_days_later():
    at = CLOSES + SKEW + timedelta(seconds=1)
    outcome, reason = c.judge(
        {"scanned_at": at, "door": "east"},
        (c.ADMISSIBLE, "confirmed"),
        None,
        opens_at=OPENS,
        closes_at=CLOSES,
        now=NOW + timedelta(days=2),
        skew=SKEW,
    )
    assert outcome == c.REJECTED and "outside the check-in window" in reason


def test_a_device_clock_within_the_skew_still_counts():
    assert _judge((c.ADMISSIBLE, "confirmed"), at=NOW + SKEW)[0] == c.CHECKED_IN
    assert _judge((c.ADMISSIBLE, "confirmed"), at=OPENS - SKEW)[0] == c.CHECKED_IN


def test_scans_are_taken_in_the_order_they_happened():
    scans = [
        {"n": 1, "scanned_at": NOW},
        {"n": 2, "scanned_at": NOW - timedelta(minutes=1)},
        {"n": 3, "scanned_at": NOW},
    ]
    assert [s["n"] for s in c.in_scan_order(scans)] == [2, 1, 3]
