"""Waiting-list offers on a real database: a freed seat is offered to the first waiter that fits and
held for them; accepted it is theirs, declined or expired (the clock moved on, the schedule run) it
passes to the next, and back to free when nobody waits. An offer is answered once, never after it
ended; offers go on after registration closed, until the start; the start and the activity's
cancellation end them."""

from datetime import datetime, timedelta

from alliance_events import queries, timers, use_cases
from alliance_platform.errors import Conflict, Forbidden
from tests.use_cases.events.conftest import ADMIN, SETTINGS, START, activity, member, organiser, shop

VALID = SETTINGS.offer_valid
SHOP = "6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f"


def _published(events, **overrides):
    draft = events.call(use_cases.create_activity, organiser(), **activity(**overrides))
    return str(events.call(use_cases.publish_activity, organiser(), activity_id=str(draft["id"]))["id"])


def _full(events, seated=("s1",), waiting=("w1", "w2"), **overrides):
    """An activity whose seats ``seated`` hold, ``waiting`` in its waiting list; the registrations."""
    activity_id = _published(events, capacity=len(seated), **overrides)
    made = {p: events.call(use_cases.register, member(p), activity_id=activity_id) for p in (*seated, *waiting)}
    return activity_id, {p: str(r["id"]) for p, r in made.items()}


def _statuses(events, activity_id):
    rows = events.query("SELECT person_id, status FROM registrations WHERE activity_id = %s", (activity_id,))
    return {row["person_id"]: row["status"] for row in rows}


def _moment(text):
    return datetime.fromisoformat(text)


def _mine(events, person, activity_id):
    [found] = events.call(queries.list_registrations, member(person), activity_id=activity_id)
    return found


def test_cancel_offer_expire_pass_on_accept(events):
    activity_id, ids = _full(events)
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    [offered] = events.payloads("seat_offered")
    assert (offered["person_id"], _moment(offered["expires_at"])) == ("w1", START + VALID)
    seen = _mine(events, "w1", activity_id)
    assert (seen["status"], seen["place"], seen["offer"]["expires_at"]) == ("waitlisted", None, START + VALID)
    assert "check_in_code" not in seen
    seats = events.call(queries.get_activity, organiser(), activity_id=activity_id)
    assert (seats["confirmed_count"], seats["offered_count"], seats["waiting_count"]) == (0, 1, 1)
    # The seat is held for the offer: a newcomer waits behind w2.
    late = events.call(use_cases.register, member("late"), activity_id=activity_id)
    assert (late["status"], late["place"]) == ("waitlisted", 2)
    events.assert_counters_match(activity_id)

    events.advance(minutes=VALID.total_seconds() / 60 - 1)
    assert events.tick(timers.run_schedule)["offers_expired"] == 0, "not yet"
    events.advance(minutes=1)
    assert events.tick(timers.run_schedule)["offers_expired"] == 1
    [expired] = events.payloads("offer_expired")
    assert (expired["person_id"], expired["because"], _moment(expired["ended_at"])) == ("w1", "expired", events.now)
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["w1", "w2"], "passed to the next"
    assert _statuses(events, activity_id) == {
        "s1": "cancelled",
        "w1": "cancelled",
        "w2": "offered",
        "late": "waitlisted",
    }
    assert _mine(events, "w2", activity_id)["offer"]["expires_at"] == events.now + VALID
    assert _mine(events, "late", activity_id)["place"] == 1

    accepted = events.call(use_cases.accept_offer, member("w2"), registration_id=ids["w2"])
    assert (accepted["status"], accepted["offer"]) == ("confirmed", None)
    assert accepted["check_in_code"], "the registrant's ticket"
    [confirmed] = events.payloads("offer_accepted")
    assert (confirmed["person_id"], confirmed["check_in_code"]) == ("w2", accepted["check_in_code"])
    assert _statuses(events, activity_id)["w2"] == "confirmed"
    assert events.tick(timers.run_schedule)["offers_expired"] == 0
    events.assert_counters_match(activity_id)


def test_an_offer_is_accepted_once(events):
    activity_id, ids = _full(events, waiting=("w1",))
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    events.call(use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    error = events.refused(Conflict, use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    assert "already accepted" in str(error)
    events.refused(Conflict, use_cases.decline_offer, member("w1"), registration_id=ids["w1"])
    assert len(events.payloads("offer_accepted")) == 1
    events.assert_counters_match(activity_id)


def test_an_offer_is_not_accepted_after_it_expired_and_nothing_changes(events):
    activity_id, ids = _full(events)
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    events.advance(minutes=VALID.total_seconds() / 60)
    # Its time is up though the schedule has not run yet: refused, and nothing is written.
    error = events.refused(Conflict, use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    assert "the offer expired at" in str(error)
    events.tick(timers.run_schedule)
    error = events.refused(Conflict, use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    assert "the offer expired at" in str(error)
    assert events.payloads("offer_accepted") == []
    events.assert_counters_match(activity_id)


def test_a_declined_offer_passes_on_and_is_not_accepted_afterwards(events):
    activity_id, ids = _full(events)
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    declined = events.call(use_cases.decline_offer, member("w1"), registration_id=ids["w1"])
    assert declined["status"] == "cancelled"
    assert [e["person_id"] for e in events.payloads("offer_declined")] == ["w1"]
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["w1", "w2"]
    error = events.refused(Conflict, use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    assert "declined" in str(error)
    events.assert_counters_match(activity_id)


def test_with_nobody_waiting_the_seat_is_free_again(events):
    activity_id, ids = _full(events, waiting=("w1",))
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    events.call(use_cases.decline_offer, member("w1"), registration_id=ids["w1"])
    seats = events.call(queries.get_activity, organiser(), activity_id=activity_id)
    assert (seats["confirmed_count"], seats["offered_count"], seats["waiting_count"]) == (0, 0, 0)
    assert events.call(use_cases.register, member("newcomer"), activity_id=activity_id)["status"] == "confirmed"
    events.assert_counters_match(activity_id)


def test_the_offer_goes_to_the_first_waiter_whose_district_has_room(events):
    activity_id = _published(events, capacity=2, quotas={"aodele": 1}, audience={"kinds": ["merchants"]})
    made = {}
    for person, district in (("a1", "aodele"), ("o1", "outlets"), ("a2", "aodele"), ("o2", "outlets")):
        made[person] = str(events.call(use_cases.register, shop(None, person, district), activity_id=activity_id)["id"])
    events.call(use_cases.cancel_registration, shop(None, "o1", "outlets"), registration_id=made["o1"])
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["o2"], "aodele's quota is full"
    events.call(use_cases.decline_offer, shop(None, "o2", "outlets"), registration_id=made["o2"])
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["o2"], "a2 still does not fit"
    events.assert_counters_match(activity_id)


def test_a_raised_capacity_offers_the_new_seats_in_order(events):
    activity_id, ids = _full(events, waiting=("w1", "w2", "w3"))
    events.call(use_cases.update_activity, organiser(), activity_id=activity_id, capacity=3)
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["w1", "w2"]
    error = events.refused(Conflict, use_cases.update_activity, organiser(), activity_id=activity_id, capacity=2)
    assert "1 confirmed registrations and 2 seats offered" in str(error)
    events.assert_counters_match(activity_id)


def test_the_registrant_their_shop_and_the_organisers_answer_offers_nobody_else(events):
    activity_id = _published(events, capacity=1, audience={"kinds": ["merchants", "party_members"]})
    seated = str(events.call(use_cases.register, member("s1"), activity_id=activity_id)["id"])
    rep = str(events.call(use_cases.register, shop(SHOP, "rep-1"), activity_id=activity_id)["id"])
    other = str(events.call(use_cases.register, member("w2"), activity_id=activity_id)["id"])
    events.call(use_cases.cancel_registration, member("s1"), registration_id=seated)
    events.refused(Forbidden, use_cases.accept_offer, member("w2"), registration_id=rep)
    events.refused(Forbidden, use_cases.accept_offer, organiser("aodele", "li"), registration_id=rep)
    accepted = events.call(use_cases.accept_offer, shop(SHOP, "rep-2"), registration_id=rep)
    assert accepted["status"] == "confirmed" and "check_in_code" not in accepted, "a colleague's ticket is not shown"
    error = events.refused(Conflict, use_cases.accept_offer, organiser(), registration_id=other)
    assert "waitlisted: it has no offer" in str(error)
    events.call(use_cases.cancel_registration, ADMIN, registration_id=rep)
    assert events.call(use_cases.accept_offer, organiser(), registration_id=other)["status"] == "confirmed"


def test_cancelling_an_offered_registration_passes_its_seat_on(events):
    activity_id, ids = _full(events)
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    outcome = events.call(use_cases.cancel_registration, member("w1"), registration_id=ids["w1"])
    assert outcome["offered"]["person_id"] == "w2"
    assert [(e["person_id"], e["was"]) for e in events.payloads("registration_cancelled")][-1] == ("w1", "waitlisted")
    events.assert_counters_match(activity_id)


def test_after_registration_closed_a_freed_seat_still_goes_to_the_next_waiter(events):
    activity_id, ids = _full(events, seated=("s1", "s2"))
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    events.call(use_cases.close_registration, organiser(), activity_id=activity_id)
    assert events.payloads("offer_expired") == [], "closing registration does not end the offer"
    accepted = events.call(use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    assert accepted["status"] == "confirmed"
    # A seat freed after the close is offered too, rather than left empty: no newcomer can take it.
    events.call(use_cases.cancel_registration, member("s2"), registration_id=ids["s2"])
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["w1", "w2"]
    events.refused(Conflict, use_cases.register, member("late"), activity_id=activity_id)
    events.assert_counters_match(activity_id)


def test_the_start_ends_open_offers_and_an_offer_never_outlasts_it(events):
    # The activity starts in an hour (registration already closed): the offer lasts until then.
    starts = START + timedelta(hours=1)
    activity_id, ids = _full(
        events,
        registration_closes_at=(START + timedelta(minutes=30)).isoformat(),
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=2)).isoformat(),
    )
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    assert _mine(events, "w1", activity_id)["offer"]["expires_at"] == starts
    events.advance(minutes=30)
    assert events.tick(timers.run_schedule)["registration_closed"] == 1
    assert events.payloads("offer_expired") == [], "still open after registration closed"
    events.advance(minutes=30)
    events.tick(timers.run_schedule)
    [ended] = events.payloads("offer_expired")
    assert ended["person_id"] == "w1"
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["w1"], "nothing offered once started"
    error = events.refused(Conflict, use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    assert "expired" in str(error) or "ended when the activity started" in str(error)
    events.assert_counters_match(activity_id)


def test_a_cancelled_activity_ends_its_offers(events):
    activity_id, ids = _full(events)
    events.call(use_cases.cancel_registration, member("s1"), registration_id=ids["s1"])
    events.call(use_cases.cancel_activity, organiser(), activity_id=activity_id, reason="暴雨预警")
    [cancelled] = events.payloads("activity_cancelled")
    assert cancelled["registrant_ids"] == ["w1", "w2"], "the offered waiter is told too"
    assert set(_statuses(events, activity_id).values()) == {"cancelled"}
    events.refused(Conflict, use_cases.accept_offer, member("w1"), registration_id=ids["w1"])
    events.advance(minutes=VALID.total_seconds() / 60)
    assert events.tick(timers.run_schedule)["offers_expired"] == 0
    events.assert_counters_match(activity_id)
