"""The floating member's transfer (组织关系转接) as a workflow on a real session: started to a
receiving branch, completed (the membership moves) or declined with a reason, one open at a time;
the one-step record_transfer_in completing an open transfer or recording a completed one; the
member's record showing the state and the activity card's period; the list, its filters and pages."""

from datetime import timedelta

import eventlet
import pytest

from alliance_platform.entrypoints import load_arguments
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_registry import queries, timers, use_cases
from alliance_registry.domain.days import today
from alliance_registry.service import RegistryService
from tests.support.helpers import wait_until

from .conftest import ADMIN, NOON, SETTINGS, staff
from .samples import floating_fields, person_fields

TODAY = today(NOON)
ARRIVED = TODAY - timedelta(days=200)


def _floating(register, **floating):
    person = register(use_cases.register_person, **person_fields())
    register(
        use_cases.register_party_member,
        person_id=person["person_id"],
        branch_id="branch_wholesale_city",
        joined_on="2012-06-30",
        floating=floating_fields(ARRIVED, card=False, **floating),
    )
    return person["person_id"]


def _member_part(register, person_id, caller=None):
    extra = {} if caller is None else {"caller": caller}
    return register(queries.get_person, person_id=person_id, **extra)["party_member"]


def test_a_transfer_starts_to_the_local_branch_and_completes_there(register):
    person_id = _floating(register, activity_card_no="鲁流2026-0117", activity_card_issued_on=ARRIVED.isoformat())
    assert _member_part(register, person_id)["transfer_state"] == "due"
    before = len(register.events())
    started = register(use_cases.start_transfer, caller=staff(), person_id=person_id, letter_no="义稠党介〔2026〕017号")
    assert (started["status"], started["to_branch_id"], started["started_on"]) == (
        "started",
        "branch_wholesale_city",
        TODAY,
    )
    shown = _member_part(register, person_id)
    assert shown["transfer_state"] == "started" and shown["transfer"]["transfer_id"] == started["transfer_id"]
    assert shown["activity_card"]["valid_until"] > ARRIVED and shown["activity_card"]["expired"] is True
    register.now = NOON + timedelta(days=1)
    done = register(use_cases.complete_transfer, caller=staff(), transfer_id=started["transfer_id"])
    assert (done["status"], done["completed_on"]) == ("completed", TODAY + timedelta(days=1))
    assert done["closed_by"].startswith("staff:") and done["closed_at"] == NOON + timedelta(days=1)
    ((_, started_event), (_, done_event)) = register.events()[before:]
    assert started_event["letter_no"] == "义稠党介〔2026〕017号" and started_event["district_id"] == "wholesale_city"
    assert (done_event["via"], done_event["transferred_on"]) == ("workflow", (TODAY + timedelta(days=1)).isoformat())
    assert register.event_types()[before:] == ["floating_member_transfer_started", "floating_member_transferred_in"]
    shown = _member_part(register, person_id)
    assert (shown["transfer_state"], shown["transferred_in_on"]) == ("completed", TODAY + timedelta(days=1))
    actions = [h["action"] for h in register.history(person_id)]
    assert actions[-2:] == ["transfer_started", "transferred_in"]


def test_the_membership_moves_to_another_receiving_branch_whose_district_may_complete_it(register):
    person_id = _floating(register)
    started = register(use_cases.start_transfer, caller=staff(), person_id=person_id, to_branch_id="branch_aodele")
    assert register.events("floating_member_transfer_started")[0][1]["district_id"] == "aodele"
    register(use_cases.complete_transfer, caller=staff("aodele"), transfer_id=started["transfer_id"])
    assert _member_part(register, person_id)["branch_id"] == "branch_aodele"
    assert register.events("floating_member_transferred_in")[0][1]["to_branch_id"] == "branch_aodele"


def test_one_open_transfer_at_a_time_and_a_closed_one_cannot_move_again(register):
    person_id = _floating(register)
    started = register(use_cases.start_transfer, person_id=person_id)
    with pytest.raises(Conflict, match="already open"):
        register(use_cases.start_transfer, person_id=person_id)
    declined = register(
        use_cases.decline_transfer,
        transfer_id=started["transfer_id"],
        reason="leaving_district_soon",
        note="年底迁往济南",
    )
    assert (declined["status"], declined["decline_reason"]) == ("declined", "leaving_district_soon")
    assert _member_part(register, person_id)["transfer_state"] == "declined"
    events = register.event_types()
    for use_case, fields in (
        (use_cases.complete_transfer, {}),
        (use_cases.decline_transfer, {"reason": "member_declines"}),
    ):
        with pytest.raises(Conflict, match="is declined"):
            register(use_case, transfer_id=started["transfer_id"], **fields)
    assert register.event_types() == events
    again = register(use_cases.start_transfer, person_id=person_id)  # after a decline, another may start
    assert register.count("member_transfers") == 2 and again["status"] == "started"
    assert register.events("floating_member_transfer_declined")[0][1]["reason"] == "leaving_district_soon"


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"started_on": (TODAY + timedelta(days=1)).isoformat()}, ValidationError),
        ({"started_on": (ARRIVED - timedelta(days=1)).isoformat()}, ValidationError),
        ({"to_branch_id": "alliance"}, ValidationError),  # an organisation, not a Party branch
        ({"to_branch_id": "branch_nowhere"}, ValidationError),
        ({"letter_no": "号" * 41}, ValidationError),
        ({"note": ""}, ValidationError),
    ],
)
def test_a_bad_start_changes_nothing(register, fields, error):
    person_id = _floating(register)
    events = register.event_types()
    with pytest.raises(error):
        register(use_cases.start_transfer, person_id=person_id, **fields)
    assert register.count("member_transfers") == 0 and register.event_types() == events


def test_only_a_floating_member_of_the_callers_district_is_transferred(register):
    resident = register(use_cases.register_person, **person_fields())
    register(
        use_cases.register_party_member,
        person_id=resident["person_id"],
        branch_id="branch_aodele",
        joined_on="2010-01-01",
    )
    with pytest.raises(Conflict, match="only a floating"):
        register(use_cases.start_transfer, person_id=resident["person_id"])
    person_id = _floating(register)
    with pytest.raises(Forbidden):
        register(use_cases.start_transfer, caller=staff("outlets"), person_id=person_id)
    nobody = register(use_cases.register_person, **person_fields())
    with pytest.raises(NotFound):
        register(use_cases.start_transfer, person_id=nobody["person_id"])
    started = register(use_cases.start_transfer, person_id=person_id)
    with pytest.raises(Forbidden):  # neither the member's district nor the receiving branch's
        register(use_cases.complete_transfer, caller=staff("outlets"), transfer_id=started["transfer_id"])
    assert register.count("member_transfers") == 1
    assert _member_part(register, person_id)["transferred_in_on"] is None


def test_a_bad_completion_or_decline_changes_nothing(register):
    person_id = _floating(register)
    register.now = NOON - timedelta(days=3)
    started = register(use_cases.start_transfer, person_id=person_id)
    register.now = NOON
    ref = {"transfer_id": started["transfer_id"]}
    events = register.event_types()
    for day in (TODAY - timedelta(days=4), TODAY + timedelta(days=1)):
        with pytest.raises(ValidationError):
            register(use_cases.complete_transfer, **ref, completed_on=day.isoformat())
    with pytest.raises(ValidationError):
        register(use_cases.decline_transfer, **ref, reason="other")  # other: say why
    with pytest.raises(ValidationError):
        register(use_cases.decline_transfer, **ref, reason="moved_away")  # not a reason of the list
    with pytest.raises(NotFound):
        register(use_cases.complete_transfer, transfer_id="7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    assert register.event_types() == events
    assert register.db("SELECT status FROM member_transfers") == [{"status": "started"}]
    done = register(use_cases.complete_transfer, **ref, completed_on=(TODAY - timedelta(days=3)).isoformat())
    assert done["completed_on"] == TODAY - timedelta(days=3)


def test_record_transfer_in_completes_an_open_transfer_or_records_a_completed_one(register):
    person_id = _floating(register)
    started = register(use_cases.start_transfer, person_id=person_id, to_branch_id="branch_outlets")
    moved = register(use_cases.record_transfer_in, person_id=person_id)
    assert (moved["branch_id"], moved["transferred_in_on"]) == ("branch_outlets", TODAY)
    assert register.db("SELECT id::text, status FROM member_transfers") == [
        {"id": started["transfer_id"], "status": "completed"}
    ]
    other = _floating(register)
    direct = register(use_cases.record_transfer_in, person_id=other, transferred_on=ARRIVED.isoformat())
    assert (direct["branch_id"], direct["transferred_in_on"]) == ("branch_wholesale_city", ARRIVED)
    vias = [(p["person_id"], p["via"]) for _, p in register.events("floating_member_transferred_in")]
    assert vias == [(person_id, "workflow"), (other, "direct")]
    assert _member_part(register, other)["transfer"]["status"] == "completed"
    with pytest.raises(Conflict):
        register(use_cases.start_transfer, person_id=other)


def test_an_open_transfer_completed_by_record_transfer_in_is_not_dated_before_its_start(register):
    person_id = _floating(register)
    register(use_cases.start_transfer, person_id=person_id)
    with pytest.raises(ValidationError):
        register(use_cases.record_transfer_in, person_id=person_id, transferred_on=ARRIVED.isoformat())
    assert register.db("SELECT status FROM member_transfers") == [{"status": "started"}]


def test_transfers_are_listed_newest_first_by_status_and_branch_in_pages(register):
    people = [_floating(register) for _ in range(3)]
    ids = []
    for n, person_id in enumerate(people):
        register.now = NOON + timedelta(minutes=n)
        ids.append(register(use_cases.start_transfer, person_id=person_id)["transfer_id"])
    register(use_cases.decline_transfer, transfer_id=ids[0], reason="member_declines")
    first = register(queries.list_transfers, limit=2)
    assert [t["transfer_id"] for t in first["items"]] == [ids[2], ids[1]] and first["next_cursor"]
    rest = register(queries.list_transfers, limit=2, cursor=first["next_cursor"])
    assert [t["transfer_id"] for t in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    started = register(queries.list_transfers, status="started")
    assert sorted(t["transfer_id"] for t in started["items"]) == sorted(ids[1:])
    assert len(register(queries.list_transfers, branch_id="branch_wholesale_city")["items"]) == 3
    assert register(queries.list_transfers, to_branch_id="branch_aodele")["items"] == []
    assert register(queries.list_transfers, caller=staff("outlets"))["items"] == []
    with pytest.raises(ValidationError):
        register(queries.list_transfers, branch_id="branch_nowhere")
    with pytest.raises(ValidationError):
        register(queries.list_transfers, status="due")
    with pytest.raises(ValidationError):  # a cursor of another query
        register(queries.list_transfers, limit=2, status="started", cursor=first["next_cursor"])
    stats = register(queries.stats)
    assert (stats["transfers_started"], stats["transfers_declined"]) == (2, 1)


def test_two_starts_at_once_make_one_transfer_the_second_a_conflict(register, use_case):
    """The second start waits for the member the first holds, then sees its open transfer."""
    person_id = _floating(register)
    cmd = load_arguments(RegistryService.start_transfer.rpc_schema, (), {"person_id": person_id})
    outcome = {}

    def second():
        try:
            register(use_cases.start_transfer, person_id=person_id)
        except Conflict as exc:
            outcome["refused"] = exc

    with use_case("registry", caller=ADMIN, now=NOON, settings=SETTINGS) as ctx:
        use_cases.start_transfer(ctx, cmd)
        waiter = eventlet.spawn(second)
        wait_until(
            lambda: register.db("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
            message="the second start waiting on the member's lock",
        )
    waiter.wait()
    assert "already open" in str(outcome["refused"])
    assert register.count("member_transfers") == 1
    assert register.event_types().count("floating_member_transfer_started") == 1


def test_a_member_whose_transfer_is_under_way_is_not_reminded_that_it_is_due(register):
    under_way, waiting = _floating(register), _floating(register)
    register(use_cases.start_transfer, person_id=under_way)
    assert register.run(timers.announce_due_transfers) == 1
    assert [p["person_id"] for _, p in register.events("floating_member_transfer_due")] == [waiting]


def test_a_branch_a_transfer_is_open_to_is_not_retired_until_it_is_closed(register):
    register(
        use_cases.add_organisation,
        organisation_id="branch_pop_up",
        type="party_branch",
        name="临时党支部",
        short_name="临时支部",
        parent_id="alliance",
        district_id="aodele",
    )
    person_id = _floating(register)
    started = register(use_cases.start_transfer, person_id=person_id, to_branch_id="branch_pop_up")
    with pytest.raises(Conflict, match="1 open transfer"):
        register(use_cases.retire_organisation, organisation_id="branch_pop_up", reason="活动结束")
    register(use_cases.decline_transfer, transfer_id=started["transfer_id"], reason="member_declines")
    retired = register(use_cases.retire_organisation, organisation_id="branch_pop_up", reason="活动结束")
    assert retired["status"] == "retired"
    with pytest.raises(Conflict, match="retired"):  # no transfer to a retired branch
        register(use_cases.start_transfer, person_id=person_id, to_branch_id="branch_pop_up")
