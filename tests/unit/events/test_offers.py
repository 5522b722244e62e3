"""Waiting-list offers' rules: who is offered a freed seat (in order, within quotas), that held
offers take seats, how long an offer lasts, who answers it and when it can no longer be answered."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance_events.domain import offers, registration
from alliance_events.domain.seats import Seats, to_offer
from alliance_platform.errors import Conflict, Forbidden
from tests.support.harness import identity

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
SHOP = "6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f"
OTHER_SHOP = "7a2e3d4c-5b6f-4c9f-8b68-2e3d4c5b6f70"


def _waiting(*districts):
    return [{"id": n, "district_id": d} for n, d in enumerate(districts, 1)]


def _activity(**overrides):
    return {
        "title": "端午亲子露营节",
        "status": "published",
        "organisers": ["outlets"],
        "created_by": "staff:organiser",
        "registration_opens_at": NOW - timedelta(days=1),
        "registration_closes_at": NOW + timedelta(days=5),
        "starts_at": NOW + timedelta(days=6),
        **overrides,
    }


def _offered(**overrides):
    return {
        "status": registration.OFFERED,
        "person_id": "waiter",
        "merchant_id": None,
        "offered_at": NOW,
        "offer_expires_at": NOW + timedelta(hours=2),
        "offer_outcome": None,
        **overrides,
    }


def test_a_seat_held_for_an_offer_is_taken_overall_and_in_its_district_s_quota():
    seats = Seats(3, {"aodele": 1}, confirmed=1, confirmed_by_district={"outlets": 1})
    assert seats.fits("aodele") and seats.fits("outlets")
    held = seats.with_offer("aodele")
    assert (held.taken(), held.taken("aodele")) == (2, 1)
    assert not held.fits("aodele"), "the quota's seat is held for the offer"
    assert held.fits("outlets")
    assert not held.with_offer("outlets").fits("outlets"), "capacity counts offers too"


def test_free_seats_go_to_the_first_waiters_that_fit_in_order_and_no_more():
    seats = Seats(4, {"aodele": 1}, confirmed=1, confirmed_by_district={"aodele": 1})
    waiting = _waiting("aodele", "outlets", "aodele", "wholesale_city", "outlets")
    assert [r["id"] for r in to_offer(waiting, seats)] == [2, 4, 5], "aodele's quota is full: its waiters wait"
    assert to_offer(waiting, Seats(1, {}, confirmed=1, confirmed_by_district={})) == []
    held = Seats(2, {}, confirmed=1, confirmed_by_district={}, offered=1, offered_by_district={"outlets": 1})
    assert to_offer(waiting, held) == [], "a seat held for an offer is not offered again"


@given(
    capacity=st.integers(min_value=0, max_value=12),
    quota=st.integers(min_value=0, max_value=12),
    confirmed=st.lists(st.sampled_from(["aodele", "outlets"]), max_size=12),
    waiting=st.lists(st.sampled_from(["aodele", "outlets", "wholesale_city"]), max_size=30),
)
def test_offers_never_exceed_capacity_or_quota_and_leave_nobody_out_who_would_fit(capacity, quota, confirmed, waiting):
    by_district = {}
    for district in confirmed[:capacity]:
        if district != "aodele" or by_district.get("aodele", 0) < quota:
            by_district[district] = by_district.get(district, 0) + 1
    seats = Seats(capacity, {"aodele": quota}, sum(by_district.values()), by_district)
    queue = _waiting(*waiting)
    chosen = to_offer(queue, seats)
    after = seats
    for offered in chosen:
        after = after.with_offer(offered["district_id"])
    assert after.taken() <= capacity and after.taken("aodele") <= quota
    left = [r for r in queue if r not in chosen]
    assert not any(after.fits(r["district_id"]) for r in left), "a free seat someone waiting fits was kept back"
    assert [r["id"] for r in chosen] == sorted(r["id"] for r in chosen), "in the order of the queue"


def test_an_offer_lasts_its_time_but_never_past_the_start():
    activity = _activity()
    assert offers.expires_at(activity, NOW, timedelta(minutes=120)) == NOW + timedelta(hours=2)
    # Registration closing does not cut it short; the start does.
    closing = _activity(registration_closes_at=NOW + timedelta(minutes=30))
    assert offers.expires_at(closing, NOW, timedelta(minutes=120)) == NOW + timedelta(hours=2)
    starting = _activity(registration_closes_at=NOW, starts_at=NOW + timedelta(minutes=45))
    assert offers.expires_at(starting, NOW, timedelta(minutes=120)) == NOW + timedelta(minutes=45)


def test_offers_are_made_from_registration_opening_until_the_start():
    assert offers.open_for_offers(_activity(), NOW)
    # After registration closed, a freed seat still goes to the next waiter rather than staying empty.
    assert offers.open_for_offers(_activity(status="registration_closed", registration_closes_at=NOW), NOW)
    assert not offers.open_for_offers(_activity(status="cancelled"), NOW)
    assert not offers.open_for_offers(_activity(status="in_progress"), NOW)
    assert not offers.open_for_offers(_activity(status="registration_closed", starts_at=NOW), NOW)
    assert not offers.open_for_offers(_activity(registration_opens_at=NOW + timedelta(minutes=1)), NOW)


def test_an_open_offer_is_answered_until_it_expires_then_never():
    offered, activity = _offered(), _activity()
    offers.check_answerable(offered, activity, NOW + timedelta(hours=2) - timedelta(seconds=1))
    with pytest.raises(Conflict, match="the offer expired at"):
        offers.check_answerable(offered, activity, NOW + timedelta(hours=2))
    # Registration closed: the offer is still answered, until the activity starts.
    offers.check_answerable(offered, _activity(status="registration_closed", registration_closes_at=NOW), NOW)
    with pytest.raises(Conflict, match="ended when the activity started"):
        offers.check_answerable(offered, _activity(status="in_progress", starts_at=NOW), NOW)


@pytest.mark.parametrize(
    "status, outcome, match",
    [
        ("confirmed", "accepted", "already accepted"),
        ("cancelled", "declined", "was declined"),
        ("cancelled", "expired", "the offer expired at"),
        ("waitlisted", "registration_closed", "ended when the activity started"),
        ("waitlisted", None, "waitlisted: it has no offer"),
        ("confirmed", None, "confirmed: it has no offer"),
        ("cancelled", None, "cancelled: it has no offer"),
    ],
)
def test_an_offer_answered_or_ended_is_not_answered_again(status, outcome, match):
    with pytest.raises(Conflict, match=match):
        offers.check_answerable(_offered(status=status, offer_outcome=outcome), _activity(), NOW)


def test_the_registrant_their_shop_the_organisers_systems_and_administrators_answer_an_offer():
    mine = _offered(person_id="waiter", merchant_id=SHOP)
    activity = _activity()
    for caller in (
        identity("staff", ["party_member"], ["outlets"], subject="waiter"),
        identity("merchant", ["merchant"], ["outlets"], subject="colleague", merchant_id=SHOP),
        identity("staff", ["staff"], ["outlets"], subject="organiser"),
        identity("system", ["system"], subject="crm"),
        identity("staff", ["admin"], subject="admin"),
    ):
        offers.require_responder(caller, mine, activity)
    for caller in (
        identity("staff", ["party_member"], ["outlets"], subject="someone-else"),
        identity("merchant", ["merchant"], ["outlets"], subject="other-shop", merchant_id=OTHER_SHOP),
        identity("staff", ["staff"], ["aodele"], subject="organiser-elsewhere"),
    ):
        with pytest.raises(Forbidden):
            offers.require_responder(caller, mine, activity)


def test_an_offered_registration_is_shown_waiting_with_its_offer_and_without_a_place():
    row = {**_offered(), "place": 3, "check_in_code": "K7M3Q9TX"}
    seen = registration.shown(row, {"title": "t", "starts_at": NOW, "venue": "v"}, ticket=True)
    assert (seen["status"], seen["place"]) == ("waitlisted", None)
    assert seen["offer"] == {"offered_at": NOW, "expires_at": NOW + timedelta(hours=2)}
    assert "check_in_code" not in seen, "no ticket before the offer is accepted"
    waiting = registration.shown({**row, "status": "waitlisted"}, {"title": "t", "starts_at": NOW, "venue": "v"}, True)
    assert (waiting["offer"], waiting["place"]) == (None, 3)
