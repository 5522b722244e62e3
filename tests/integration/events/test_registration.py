"""Registration: capacity and quotas hold under concurrency, the waiting list keeps its order,
a cancelled seat is offered to the next, check-in by code, no-shows and points, reminders on time."""

from datetime import timedelta

import eventlet
import pytest
from nameko.testing.services import entrypoint_waiter

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.integration.events.conftest import START, activity


def published(events, **overrides):
    with events.organiser() as organiser:
        created = organiser.events.create_activity(**activity(**overrides))
        return organiser.events.publish_activity(activity_id=created["activity_id"])["activity_id"]


def test_seats_then_a_waiting_list_in_order_and_a_cancellation_offers_the_seat_to_the_next(events):
    activity_id = published(events, capacity=2)
    results = {}
    for person in ("p1", "p2", "p3", "p4"):
        with events.member(person) as member:
            results[person] = member.events.register(activity_id=activity_id)
    assert [results[p]["status"] for p in ("p1", "p2", "p3", "p4")] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    assert (results["p3"]["place"], results["p4"]["place"]) == (1, 2)
    assert results["p1"]["check_in_code"] and results["p3"]["check_in_code"] is None
    with events.member("p1") as member:
        [ticket] = member.events.list_registrations(activity_id=activity_id)
    assert ticket["check_in_code"] == results["p1"]["check_in_code"] and ticket["check_in_qr_svg"].startswith("<svg")
    with events.member("p1") as member:
        with pytest.raises(Conflict, match="already registered"):
            member.events.register(activity_id=activity_id)
        outcome = member.events.cancel_registration(registration_id=results["p1"]["registration_id"])
    assert outcome["promoted"] is None and outcome["offered"]["person_id"] == "p3"
    assert outcome["offered"]["status"] == "waitlisted" and outcome["offered"]["offer"]["expires_at"]
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["p3"]
    with events.member("p3") as member:
        accepted = member.events.accept_offer(registration_id=results["p3"]["registration_id"])
        assert accepted["status"] == "confirmed" and accepted["check_in_qr_svg"].startswith("<svg")
        with pytest.raises(Conflict, match="already accepted"):
            member.events.accept_offer(registration_id=results["p3"]["registration_id"])
    assert [e["person_id"] for e in events.payloads("offer_accepted")] == ["p3"]
    with events.member("p2") as someone_else:
        with pytest.raises(Forbidden):
            someone_else.events.cancel_registration(registration_id=results["p4"]["registration_id"])
    with events.organiser() as organiser:
        with pytest.raises(Conflict, match="below the 2 confirmed"):
            organiser.events.update_activity(activity_id=activity_id, capacity=1)


def test_district_quotas_hold_and_a_freed_seat_goes_to_the_first_who_fits(events):
    activity_id = published(
        events, capacity=3, quotas={"aodele": 1}, audience={"kinds": ["merchants"], "districts": []}
    )
    outcome = {}
    for n, district in enumerate(["aodele", "aodele", "outlets", "outlets"]):
        with events.merchant(district=district, person_id=f"m{n}") as shop:
            outcome[f"m{n}"] = shop.events.register(activity_id=activity_id)["status"]
    assert outcome == {"m0": "confirmed", "m1": "waitlisted", "m2": "confirmed", "m3": "confirmed"}


def test_never_overbooked_under_concurrent_registration(events):
    activity_id = published(events, capacity=25)

    def register(n):
        with events.member(f"burst-{n:03d}") as member:
            return member.events.register(activity_id=activity_id)

    results = list(eventlet.GreenPool(20).imap(register, range(60)))
    confirmed = [r for r in results if r["status"] == "confirmed"]
    waiting = sorted((r for r in results if r["status"] == "waitlisted"), key=lambda r: r["place"])
    assert len(confirmed) == 25 and len(waiting) == 35
    assert [r["place"] for r in waiting] == list(range(1, 36)), "one place each, in arrival order"
    with events.organiser() as organiser:
        assert organiser.events.attendance(activity_id=activity_id)["confirmed"] == 25


@pytest.mark.parametrize(
    "setup, match",
    [
        ({"registration_opens_at": (START + timedelta(days=1)).isoformat()}, "registration for"),
        ({"audience": {"kinds": ["merchants"], "districts": ["aodele"]}}, "is for aodele"),
        ({"audience": {"kinds": ["staff"], "districts": []}}, "is for staff"),
    ],
)
def test_registration_outside_the_window_or_the_audience_is_refused(events, setup, match):
    activity_id = published(events, **setup)
    with events.member() as member:
        with pytest.raises((Conflict, Forbidden), match=match):
            member.events.register(activity_id=activity_id)


def test_children_register_with_their_guardian_and_nobody_registers_for_someone_else(events):
    activity_id = published(
        events, type="holiday_tutoring", theme_tags=[], audience={"kinds": ["children"], "districts": []}
    )
    with events.merchant(person_id="guardian") as guardian:
        first = guardian.events.register(activity_id=activity_id, child_name="小明", child_age=8)
        second = guardian.events.register(activity_id=activity_id, child_name="小红", child_age=6)
        with pytest.raises(ValidationError):
            guardian.events.register(activity_id=activity_id)  # a child is needed
        with pytest.raises(ValidationError):
            guardian.events.register(activity_id=activity_id, child_name="小刚")  # and the age
        with pytest.raises(Forbidden):
            guardian.events.register(activity_id=activity_id, person_id="someone-else", child_name="小刚", child_age=7)
    assert (first["status"], second["status"]) == ("confirmed", "confirmed")


def test_check_in_no_shows_points_and_attendance(events):
    activity_id = published(events, type="training", theme_tags=[], capacity=3)
    codes = {}
    for person in ("came", "absent"):
        with events.merchant(person_id=person, merchant_id=None) as shop:
            codes[person] = shop.events.register(activity_id=activity_id)["check_in_code"]
    events.time.advance(days=7, minutes=5)  # the training has started
    with events.organiser() as organiser:
        with entrypoint_waiter(events.container, "run_schedule"):
            pass
        checked = organiser.events.check_in(activity_id=activity_id, code=codes["came"].lower())
        with pytest.raises(Conflict, match="already checked in"):
            organiser.events.check_in(activity_id=activity_id, code=codes["came"])
        with pytest.raises(Exception, match="no registration"):
            organiser.events.check_in(activity_id=activity_id, code="ZZZZ9999")
        done = organiser.events.complete_activity(activity_id=activity_id)
        figures = organiser.events.attendance(activity_id=activity_id)
    assert checked["status"] == "attended"
    # Points are the registry's ledger's: the released points fields stay, deprecated, at 0.
    assert (done["attended"], done["no_shows"], done["points_per_person"]) == (1, 1, 0)
    assert (figures["attended"], figures["no_shows"], figures["attendance_rate"]) == (1, 1, 0.5)
    [completed] = events.payloads("activity_completed")
    assert completed["points_awarded"] == 0
    [recorded] = events.payloads("no_shows_recorded")
    assert [n["person_id"] for n in recorded["no_shows"]] == ["absent"]
    assert [e["person_id"] for e in events.payloads("checked_in")] == ["came"]


def test_reminders_go_out_24h_and_2h_before_the_start_once_each(events):
    activity_id = published(events)
    with events.member("going") as member:
        member.events.register(activity_id=activity_id)

    def run_schedule(times=3):
        for _ in range(times):
            with entrypoint_waiter(events.container, "run_schedule"):
                pass

    run_schedule()
    assert events.payloads("activity_reminder_due") == []
    events.time.advance(days=6, hours=1)  # 23 hours before
    run_schedule()
    events.time.advance(hours=21, minutes=30)  # 90 minutes before
    run_schedule()
    reminders = events.payloads("activity_reminder_due")
    assert [(r["window"], r["person_ids"]) for r in reminders] == [("24h", ["going"]), ("2h", ["going"])]
    events.time.advance(hours=2)
    run_schedule()
    with events.member() as member:
        assert member.events.get_activity(activity_id=activity_id)["status"] == "in_progress"
    assert len(events.payloads("activity_reminder_due")) == 2


def test_a_merchant_s_representative_may_name_its_own_shop(events):
    activity_id = published(events, audience={"kinds": ["merchants"], "districts": []})
    own, other = "6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f", "7a2e3d4c-5b6f-4c9f-8b68-2e3d4c5b6f70"
    with events.merchant(merchant_id=own, person_id="rep-1") as shop:
        registered = shop.events.register(activity_id=activity_id, merchant_id=own)
        with pytest.raises(Forbidden, match="its own shop only"):
            shop.events.register(activity_id=activity_id, merchant_id=other)
        [listed] = shop.events.list_registrations(activity_id=activity_id)
    assert (registered["status"], registered["merchant_id"]) == ("confirmed", own)
    assert listed["merchant_id"] == own


def test_the_waiting_list_shows_where_each_waiter_stands_now(events):
    activity_id = published(events, capacity=1)
    made = {}
    for person in ("p1", "p2", "p3", "p4"):
        with events.member(person) as member:
            made[person] = member.events.register(activity_id=activity_id)
    assert [(made[p]["place"], made[p]["position"]) for p in ("p2", "p3", "p4")] == [(1, 1), (2, 2), (3, 3)]
    with events.member("p1") as member:
        member.events.cancel_registration(registration_id=made["p1"]["registration_id"])  # p2 is offered the seat
    with events.member("p2") as member:
        member.events.accept_offer(registration_id=made["p2"]["registration_id"])
    with events.member("p3") as member:
        [mine] = member.events.list_registrations(activity_id=activity_id)
        assert (mine["status"], mine["place"], mine["position"]) == ("waitlisted", 1, 1)
    with events.member("p5") as member:
        late = member.events.register(activity_id=activity_id)
    assert (late["status"], late["place"], late["position"]) == ("waitlisted", 3, 3)
    with events.organiser() as organiser:
        everyone = organiser.events.list_registrations(activity_id=activity_id)
    assert [(r["person_id"], r["status"], r["place"]) for r in everyone] == [
        ("p1", "cancelled", None),
        ("p2", "confirmed", None),
        ("p3", "waitlisted", 1),
        ("p4", "waitlisted", 2),
        ("p5", "waitlisted", 3),
    ]
    assert [e["position"] for e in events.payloads("registration_waitlisted")] == [1, 2, 3, 3]
