"""Party members on a real session: registration in a branch, floating members (流动党员) and their
transfer due six calendar months after arrival, announced once by the timer, and transfers in."""

from datetime import date, timedelta

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_registry import queries, timers, use_cases
from alliance_registry.domain.days import today

from .conftest import NOON, staff
from .samples import person_fields

TODAY = today(NOON)
FLOATING = {"home_organisation": "义乌市稠城街道党工委", "home_province": "浙江省"}


def _member(register, arrived=None, **fields):
    person = register(use_cases.register_person, **person_fields())
    floating = None if arrived is None else {**FLOATING, "arrived_on": arrived.isoformat()}
    member = register(
        use_cases.register_party_member,
        person_id=person["person_id"],
        branch_id="branch_wholesale_city",
        joined_on="2012-06-30",
        floating=floating,
        **fields,
    )
    return person, member


def test_a_member_is_registered_in_a_branch_with_the_branchs_district_and_party_age(register):
    person, member = _member(register)
    assert (member["district_id"], member["floating"], member["transfer_due_on"]) == ("wholesale_city", False, None)
    assert member["party_age"] == 14  # 2012-06-30 to 2026-12-01
    assert register.event_types() == ["person_registered", "party_member_registered", "person_updated"]
    assert register.events("person_updated")[0][1]["roles"] == ["party_member"]
    read = register(queries.get_person, person_id=person["person_id"])
    assert (read["party_member"]["branch_district_id"], read["party_member"]["party_age"]) == ("wholesale_city", 14)


def test_a_floating_members_transfer_falls_due_six_calendar_months_after_arrival(register):
    _, member = _member(register, arrived=date(2026, 8, 31))
    assert member["floating"] and member["transfer_due_on"] == date(2027, 2, 28)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"joined_on": (TODAY + timedelta(days=1)).isoformat()}, "joined_on"),
        ({"floating": {**FLOATING, "arrived_on": (TODAY + timedelta(days=1)).isoformat()}}, "floating"),
        ({"branch_id": "alliance"}, "branch_id"),  # an organisation, not a Party branch
    ],
)
def test_a_member_from_the_future_or_of_no_branch_is_refused(register, fields, field):
    person = register(use_cases.register_person, **person_fields())
    with pytest.raises(ValidationError) as refused:
        register(
            use_cases.register_party_member,
            **{"person_id": person["person_id"], "branch_id": "branch_aodele", "joined_on": "2010-01-01", **fields},
        )
    assert field in refused.value.fields
    assert register.count("party_members") == 0 and register.event_types() == ["person_registered"]


def test_a_person_is_registered_as_a_member_once_and_only_in_the_callers_districts(register):
    person, _ = _member(register)
    with pytest.raises(Conflict):
        register(
            use_cases.register_party_member,
            person_id=person["person_id"],
            branch_id="branch_aodele",
            joined_on="2010-01-01",
        )
    other = register(use_cases.register_person, **person_fields())
    with pytest.raises(Forbidden):
        register(
            use_cases.register_party_member,
            caller=staff("aodele"),
            person_id=other["person_id"],
            branch_id="branch_outlets",
            joined_on="2010-01-01",
        )
    assert register.count("party_members") == 1


def test_the_timer_announces_a_due_transfer_once_when_it_falls_due(register):
    arrived = TODAY - timedelta(days=150)
    person, member = _member(register, arrived=arrived)
    before = len(register.events())
    assert register.run(timers.announce_due_transfers) == 0
    register.now = NOON + timedelta(days=40)
    assert register.run(timers.announce_due_transfers) == 1
    assert register.run(timers.announce_due_transfers) == 0
    ((event_type, payload),) = register.events()[before:]
    assert event_type == "floating_member_transfer_due"
    assert (payload["person_id"], payload["transfer_due_on"], payload["district_id"]) == (
        person["person_id"],
        member["transfer_due_on"].isoformat(),
        "wholesale_city",
    )
    assert register.history(person["person_id"])[-1] == {
        "action": "transfer_due_announced",
        "details": {},
        "actor": "system:registry",
    }


def test_a_member_who_transferred_in_is_not_announced(register):
    person, _ = _member(register, arrived=TODAY - timedelta(days=150))
    register(use_cases.record_transfer_in, person_id=person["person_id"])
    register.now = NOON + timedelta(days=40)
    assert register.run(timers.announce_due_transfers) == 0
    assert "floating_member_transfer_due" not in register.event_types()


def test_a_transfer_in_is_recorded_once_for_a_floating_member_between_arrival_and_today(register):
    arrived = TODAY - timedelta(days=30)
    person, _ = _member(register, arrived=arrived)
    ref = {"person_id": person["person_id"]}
    for day in (arrived - timedelta(days=1), TODAY + timedelta(days=1)):
        with pytest.raises(ValidationError):
            register(use_cases.record_transfer_in, **ref, transferred_on=day.isoformat())
    done = register(use_cases.record_transfer_in, **ref, transferred_on=arrived.isoformat())
    assert done["transferred_in_on"] == arrived
    with pytest.raises(Conflict, match="already recorded"):
        register(use_cases.record_transfer_in, **ref)
    assert [h["action"] for h in register.history(person["person_id"])][-1] == "transferred_in"


def test_only_a_registered_floating_member_transfers_in(register):
    person = register(use_cases.register_person, **person_fields())
    with pytest.raises(NotFound):
        register(use_cases.record_transfer_in, person_id=person["person_id"])
    resident, _ = _member(register)
    with pytest.raises(Conflict, match="only a floating"):
        register(use_cases.record_transfer_in, person_id=resident["person_id"])
    assert register.db("SELECT transferred_in_on FROM party_members") == [{"transferred_in_on": None}]
