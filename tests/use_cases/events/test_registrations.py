"""Registration's use cases: seats and quotas, the waiting list and its places, cancelling offers a
seat on, who may register whom, audiences and windows, check-in, what each caller is shown."""

import uuid
from datetime import timedelta

import pytest

from alliance_events import queries, timers, use_cases
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.support.harness import identity
from tests.use_cases.events.conftest import ADMIN, SETTINGS, START, SYSTEM, activity, member, organiser, shop

OWN_SHOP = "6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f"
OTHER_SHOP = "7a2e3d4c-5b6f-4c9f-8b68-2e3d4c5b6f70"


def _published(events, **overrides):
    draft = events.call(use_cases.create_activity, organiser(), **activity(**overrides))
    return str(events.call(use_cases.publish_activity, organiser(), activity_id=str(draft["id"]))["id"])


def test_seats_first_then_the_waiting_list_in_order(events):
    activity_id = _published(events, capacity=2)
    made = {p: events.call(use_cases.register, member(p), activity_id=activity_id) for p in ("p1", "p2", "p3", "p4")}
    assert [made[p]["status"] for p in made] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [made[p]["place"] for p in made] == [None, None, 1, 2]
    assert made["p1"]["check_in_code"] and made["p3"]["check_in_code"] is None
    assert [e["person_id"] for e in events.payloads("registration_confirmed")] == ["p1", "p2"]
    assert [(e["person_id"], e["position"]) for e in events.payloads("registration_waitlisted")] == [
        ("p3", 1),
        ("p4", 2),
    ]
    assert events.payloads("registration_confirmed")[0]["check_in_code"] == made["p1"]["check_in_code"]
    events.assert_counters_match(activity_id)


def test_a_district_s_quota_sends_its_next_registrant_to_the_waiting_list(events):
    activity_id = _published(events, capacity=3, quotas={"aodele": 1}, audience={"kinds": ["merchants"]})
    outcome = [
        events.call(use_cases.register, shop(None, f"m{n}", district), activity_id=activity_id)["status"]
        for n, district in enumerate(["aodele", "aodele", "outlets", "outlets", "outlets"])
    ]
    assert outcome == ["confirmed", "waitlisted", "confirmed", "confirmed", "waitlisted"]
    events.assert_counters_match(activity_id)


def test_a_cancelled_seat_is_offered_to_the_first_waiter_who_fits_and_is_theirs_once_accepted(events):
    activity_id = _published(events, capacity=2, quotas={"aodele": 1}, audience={"kinds": ["merchants"]})
    made = {}
    for person, district in (("a1", "aodele"), ("o1", "outlets"), ("a2", "aodele"), ("o2", "outlets")):
        made[person] = events.call(use_cases.register, shop(None, person, district), activity_id=activity_id)
    assert [made[p]["status"] for p in made] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    outcome = events.call(
        use_cases.cancel_registration, shop(None, "o1", "outlets"), registration_id=str(made["o1"]["id"])
    )
    assert outcome["cancelled"]["status"] == "cancelled"
    assert outcome["promoted"] is None, "a seat is offered now, not given"
    assert (outcome["offered"]["person_id"], outcome["offered"]["status"]) == ("o2", "waitlisted")
    assert outcome["offered"]["offer"]["expires_at"] == START + SETTINGS.offer_valid
    assert "check_in_code" not in outcome["offered"], "the canceller must not see the newcomer's ticket"
    assert [e["person_id"] for e in events.payloads("seat_offered")] == ["o2"]
    assert events.payloads("registration_promoted") == []
    assert [(e["person_id"], e["was"]) for e in events.payloads("registration_cancelled")] == [("o1", "confirmed")]
    events.assert_counters_match(activity_id)
    accepted = events.call(use_cases.accept_offer, shop(None, "o2", "outlets"), registration_id=str(made["o2"]["id"]))
    assert (accepted["status"], accepted["check_in_code"]) == ("confirmed", _code(events, "o2"))
    [confirmed] = events.payloads("offer_accepted")
    assert (confirmed["person_id"], confirmed["check_in_code"]) == ("o2", _code(events, "o2"))
    events.assert_counters_match(activity_id)


def test_a_waiter_who_cancels_frees_no_seat_and_those_behind_move_up(events):
    activity_id = _published(events, capacity=1)
    made = {p: events.call(use_cases.register, member(p), activity_id=activity_id) for p in ("p1", "p2", "p3")}
    outcome = events.call(use_cases.cancel_registration, member("p2"), registration_id=str(made["p2"]["id"]))
    assert outcome["promoted"] is None and outcome["offered"] is None
    assert events.payloads("seat_offered") == []
    [mine] = events.call(queries.list_registrations, member("p3"), activity_id=activity_id)
    assert (mine["status"], mine["place"], mine["position"]) == ("waitlisted", 1, 1)
    late = events.call(use_cases.register, member("p4"), activity_id=activity_id)
    assert (late["status"], late["place"]) == ("waitlisted", 2)
    events.assert_counters_match(activity_id)


def test_only_the_registrant_a_system_or_an_administrator_cancels_and_only_once(events):
    activity_id = _published(events)
    mine = str(events.call(use_cases.register, member("p1"), activity_id=activity_id)["id"])
    events.refused(Forbidden, use_cases.cancel_registration, member("p2"), registration_id=mine)
    events.refused(Forbidden, use_cases.cancel_registration, organiser(), registration_id=mine)
    assert events.call(use_cases.cancel_registration, ADMIN, registration_id=mine)["cancelled"]["status"] == "cancelled"
    error = events.refused(Conflict, use_cases.cancel_registration, member("p1"), registration_id=mine)
    assert "nothing to cancel" in str(error)
    events.refused(NotFound, use_cases.cancel_registration, member("p1"), registration_id=activity_id)
    other = str(events.call(use_cases.register, member("p3"), activity_id=activity_id)["id"])
    assert (
        events.call(use_cases.cancel_registration, SYSTEM, registration_id=other)["cancelled"]["status"] == "cancelled"
    )


def test_registrations_no_longer_change_once_the_activity_has_started(events):
    activity_id = _published(events)
    mine = str(events.call(use_cases.register, member("p1"), activity_id=activity_id)["id"])
    events.advance(days=7, minutes=1)
    assert events.tick(timers.run_schedule)["started"] == 1
    error = events.refused(Conflict, use_cases.cancel_registration, member("p1"), registration_id=mine)
    assert "can no longer change" in str(error)


def test_one_live_registration_per_person_and_child(events):
    activity_id = _published(events)
    events.call(use_cases.register, member("p1"), activity_id=activity_id)
    error = events.refused(Conflict, use_cases.register, member("p1"), activity_id=activity_id)
    assert "already registered" in str(error)
    tutoring = _published(events, type="holiday_tutoring", theme_tags=[], audience={"kinds": ["children"]})
    guardian = shop(None, "guardian")
    events.call(use_cases.register, guardian, activity_id=tutoring, child_name="小明", child_age=8)
    events.call(use_cases.register, guardian, activity_id=tutoring, child_name="小红", child_age=6)
    events.refused(Conflict, use_cases.register, guardian, activity_id=tutoring, child_name="小明", child_age=8)


def test_after_cancelling_one_may_register_again(events):
    activity_id = _published(events)
    first = str(events.call(use_cases.register, member("p1"), activity_id=activity_id)["id"])
    events.call(use_cases.cancel_registration, member("p1"), registration_id=first)
    assert events.call(use_cases.register, member("p1"), activity_id=activity_id)["status"] == "confirmed"


def test_a_person_registers_only_themselves_but_systems_and_administrators_anyone(events):
    activity_id = _published(events)
    events.refused(Forbidden, use_cases.register, member("p1"), activity_id=activity_id, person_id="someone-else")
    for caller, person in ((SYSTEM, "by-crm"), (ADMIN, "by-admin")):
        made = events.call(use_cases.register, caller, activity_id=activity_id, person_id=person, district_id="aodele")
        assert (made["person_id"], made["district_id"]) == (person, "aodele")


def test_a_merchant_s_representative_registers_for_its_own_shop_only(events):
    activity_id = _published(events, audience={"kinds": ["merchants"]})
    representative = shop(OWN_SHOP, "rep-1")
    error = events.refused(
        Forbidden, use_cases.register, representative, activity_id=activity_id, merchant_id=OTHER_SHOP
    )
    assert "its own shop only" in str(error)
    made = events.call(use_cases.register, representative, activity_id=activity_id)
    assert str(made["merchant_id"]) == OWN_SHOP  # its shop, named or not
    [confirmed] = events.payloads("registration_confirmed")
    assert (confirmed["merchant_id"], confirmed["district_id"]) == (OWN_SHOP, "outlets")


def test_the_district_is_the_caller_s_own(events):
    activity_id = _published(events)
    error = events.refused(Forbidden, use_cases.register, member("p1"), activity_id=activity_id, district_id="aodele")
    assert "do not belong to aodele" in str(error)
    everywhere = member("p2", district="*")
    error = events.refused(ValidationError, use_cases.register, everywhere, activity_id=activity_id)
    assert "district_id" in error.fields


@pytest.mark.parametrize(
    "audience, caller, match",
    [
        ({"kinds": ["merchants"], "districts": ["aodele"]}, shop(None, "m1"), "is for aodele"),
        ({"kinds": ["staff"]}, member("p1"), "is for staff"),
        ({"kinds": ["merchants"]}, member("p1"), "is for merchants"),
        ({"kinds": ["party_members"]}, shop(None, "m1"), "is for party_members"),
    ],
)
def test_only_its_audience_registers(events, audience, caller, match):
    activity_id = _published(events, audience=audience)
    error = events.refused(Forbidden, use_cases.register, caller, activity_id=activity_id)
    assert match in str(error)


def test_staff_roles_make_one_of_a_staff_audience_and_systems_register_anyone(events):
    activity_id = _published(events, audience={"kinds": ["staff"]})
    assert events.call(use_cases.register, member("v1", roles=("volunteer",)), activity_id=activity_id)
    assert events.call(use_cases.register, SYSTEM, activity_id=activity_id, person_id="p9", district_id="outlets")


def test_children_register_with_a_name_and_age_and_only_where_children_are_taken(events):
    tutoring = _published(events, type="holiday_tutoring", theme_tags=[], audience={"kinds": ["children"]})
    guardian = shop(None, "guardian")
    error = events.refused(ValidationError, use_cases.register, guardian, activity_id=tutoring)
    assert "child_name" in error.fields
    made = events.call(use_cases.register, guardian, activity_id=tutoring, child_name="小明", child_age=8)
    assert (made["child_name"], made["child_age"], made["person_id"]) == ("小明", 8, "guardian")
    training = _published(events, type="training", theme_tags=[])
    error = events.refused(
        ValidationError, use_cases.register, member("p1"), activity_id=training, child_name="小红", child_age=6
    )
    assert "child_name" in error.fields


def test_registration_is_open_only_within_its_window_and_while_published(events):
    later = _published(events, registration_opens_at=(START + timedelta(days=1)).isoformat())
    error = events.refused(Conflict, use_cases.register, member("p1"), activity_id=later)
    assert "registration for" in str(error)
    events.advance(days=1)
    assert events.call(use_cases.register, member("p1"), activity_id=later)["status"] == "confirmed"
    events.advance(days=5)  # the day before the start: registration has closed
    events.refused(Conflict, use_cases.register, member("p2"), activity_id=later)
    draft = str(events.call(use_cases.create_activity, organiser(), **activity(title="草稿"))["id"])
    error = events.refused(Conflict, use_cases.register, member("p3"), activity_id=draft)
    assert "draft: registration is not open" in str(error)
    closed = _published(events, title="报名已截止", theme_tags=[])
    events.call(use_cases.close_registration, organiser(), activity_id=closed)
    events.refused(Conflict, use_cases.register, member("p3"), activity_id=closed)


def test_check_in_by_code_once_for_a_confirmed_registrant(events):
    activity_id = _published(events, capacity=1)
    seated = events.call(use_cases.register, member("came"), activity_id=activity_id)
    waiting = events.call(use_cases.register, member("waiting"), activity_id=activity_id)
    checked = events.call(
        use_cases.check_in, organiser(), activity_id=activity_id, code=f" {seated['check_in_code'].lower()} "
    )
    assert (checked["status"], checked["checked_in_at"], checked["check_in_code"]) == (
        "attended",
        START,
        seated["check_in_code"],
    )
    assert [e["person_id"] for e in events.payloads("checked_in")] == ["came"]
    error = events.refused(
        Conflict, use_cases.check_in, organiser(), activity_id=activity_id, code=seated["check_in_code"]
    )
    assert "already checked in" in str(error)
    [code] = events.query("SELECT check_in_code FROM registrations WHERE id = %s", (waiting["id"],))
    error = events.refused(
        Conflict, use_cases.check_in, organiser(), activity_id=activity_id, code=code["check_in_code"]
    )
    assert "only confirmed registrants check in" in str(error)
    events.refused(NotFound, use_cases.check_in, organiser(), activity_id=activity_id, code="ZZZZ9999")
    events.refused(Forbidden, use_cases.check_in, organiser("aodele", "li"), activity_id=activity_id, code="ZZZZ9999")


def test_no_check_in_at_a_draft_or_a_cancelled_activity(events):
    activity_id = _published(events)
    code = events.call(use_cases.register, member("p1"), activity_id=activity_id)["check_in_code"]
    events.call(use_cases.cancel_activity, organiser(), activity_id=activity_id, reason="暴雨预警")
    error = events.refused(Conflict, use_cases.check_in, organiser(), activity_id=activity_id, code=code)
    assert "cancelled: no check-in" in str(error)


def test_each_sees_the_registrations_they_may_and_only_their_own_code(events):
    activity_id = _published(events, capacity=2)
    events.call(use_cases.register, member("p1"), activity_id=activity_id)
    events.advance(minutes=1)
    events.call(use_cases.register, shop(OWN_SHOP, "rep-1"), activity_id=activity_id)
    mine = events.call(queries.list_registrations, member("p1"), activity_id=activity_id)
    assert [(r["person_id"], r["check_in_code"] == _code(events, "p1")) for r in mine] == [("p1", True)]
    everyone = events.call(queries.list_registrations, organiser(), activity_id=activity_id)
    assert [(r["person_id"], r["status"]) for r in everyone] == [("p1", "confirmed"), ("rep-1", "confirmed")]
    assert not any("check_in_code" in r for r in everyone), "an organiser is shown nobody's ticket"
    # A colleague at the shop sees the shop's registrations, not the ticket of the one who registered.
    colleague = events.call(queries.list_registrations, shop(OWN_SHOP, "rep-2"))
    assert [(r["person_id"], "check_in_code" in r) for r in colleague] == [("rep-1", False)]
    assert events.call(queries.list_registrations, member("nobody")) == []
    # A shop's registrations, for a merchant's page: its organisers see them, others nothing of them.
    shops = events.call(queries.list_registrations, organiser(), merchant_id=OWN_SHOP)
    assert [(r["person_id"], r["title"]) for r in shops] == [("rep-1", shops[0]["title"])] and shops[0]["title"]
    assert events.call(queries.list_registrations, organiser("aodele", "li"), merchant_id=OWN_SHOP) == []
    assert len(events.call(queries.list_registrations, shop(OWN_SHOP, "rep-2"), merchant_id=OWN_SHOP)) == 1
    events.refused(Forbidden, queries.list_registrations, shop(OWN_SHOP, "rep-2"), merchant_id=str(uuid.uuid4()))


def _code(events, person_id):
    return events.query("SELECT check_in_code FROM registrations WHERE person_id = %s", (person_id,))[0][
        "check_in_code"
    ]


def test_attendance_counts_for_the_organisers(events):
    activity_id = _published(events, capacity=2)
    made = {p: events.call(use_cases.register, member(p), activity_id=activity_id) for p in "abc"}
    events.call(use_cases.cancel_registration, member("c"), registration_id=str(made["c"]["id"]))  # it waited
    events.advance(days=7, minutes=1)
    events.tick(timers.run_schedule)
    events.call(use_cases.check_in, organiser(), activity_id=activity_id, code=made["a"]["check_in_code"])
    events.refused(Forbidden, queries.attendance, member("a"), activity_id=activity_id)
    figures = events.call(queries.attendance, organiser(), activity_id=activity_id)
    assert figures == {
        "activity_id": activity_id,
        "status": "in_progress",
        "confirmed": 2,
        "attended": 1,
        "no_shows": 0,
        "waitlisted": 0,
        "cancelled": 1,
        "attendance_rate": 0.5,
    }


def test_staff_of_every_district_register_naming_the_district_their_seat_counts_against(events):
    activity_id = _published(events, capacity=2, audience={"kinds": ["staff"]})
    alliance_staff = identity(subject="staff-all", roles=["staff"], districts=["*"])
    refused = events.refused(ValidationError, use_cases.register, alliance_staff, activity_id=activity_id)
    assert "district_id" in refused.fields  # which quota? the identity names none
    made = events.call(use_cases.register, alliance_staff, activity_id=activity_id, district_id="aodele")
    assert (made["status"], made["district_id"]) == ("confirmed", "aodele")
    outsider = identity(subject="staff-outlets", roles=["staff"], districts=["outlets"])
    events.refused(Forbidden, use_cases.register, outsider, activity_id=activity_id, district_id="aodele")
