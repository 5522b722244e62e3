"""Party members' points over the broker: a check-in published by the events service and a demand
closed by the tickets service reach the member's ledger once (a redelivered event changes
nothing), the balance and ranking are read over RPC, and bad requests get typed errors that
change nothing."""

import uuid

import pytest
from nameko.testing.services import entrypoint_waiter

from alliance_contracts import example_envelopes
from alliance_platform.errors import Forbidden, NotFound, ValidationError
from tests.support.helpers import publish
from tests.use_cases.registry.samples import person_fields


@pytest.fixture
def member(registry):
    """A Party member of the Aodele branch; their person id."""
    with registry.admin() as alliance:
        person = alliance.registry.register_person(**person_fields(district_id="aodele"))
        alliance.registry.register_party_member(
            person_id=person["person_id"], branch_id="branch_aodele", joined_on="2005-07-01"
        )
    return person["person_id"]


def _deliver(registry, handler, body):
    """Publish ``body`` as its source's event and wait until ``handler`` ran; what it returned."""
    with entrypoint_waiter(registry.container, handler) as result:
        publish(registry.container.config["AMQP_URI"], body["source"], body["event_type"], body)
    return result.get()


def _example(source, event_type, **payload):
    """The contract's first example of the event, under a new event id, with ``payload``'s fields."""
    example = example_envelopes(source, event_type)[0]
    return {**example, "event_id": uuid.uuid4().hex, "payload": {**example["payload"], **payload}}


def test_an_attendance_and_a_closed_demand_reach_the_ledger_once(registry, member):
    checked_in = _example("events", "checked_in", person_id=member, district_id="aodele")
    first = _deliver(registry, "handle_events_checked_in", checked_in)
    assert len(first["recorded"]) == 1
    assert _deliver(registry, "handle_events_checked_in", checked_in) is None, "the inbox skips a redelivery"
    closed = _example("tickets", "ticket_closed", responsible_id=member, rating=5)
    assert len(_deliver(registry, "handle_tickets_ticket_closed", closed)["recorded"]) == 2

    with registry.staff("aodele") as staff:
        ledger = staff.registry.member_points(person_id=member)
        ranking = staff.registry.rank_points(branch_id="branch_aodele")
    assert (ledger["balance"], ledger["entries"]) == (4, 3)
    assert [(e["rule"], e["points"], e["source"]) for e in ledger["items"]] == [
        ("good_rating", 1, "tickets.ticket_closed"),
        ("handled_demand", 1, "tickets.ticket_closed"),
        ("attended_activity", 2, "events.checked_in"),
    ]
    assert ledger["items"][-1]["source_event_id"] == checked_in["event_id"]
    assert [(r["rank"], r["person_id"], r["points"]) for r in ranking["items"]] == [(1, member, 4)]
    assert [p["balance"] for p in registry.payloads("points_recorded")] == [2, 3, 4]
    handled = registry.db("SELECT command, acted_by FROM changes WHERE command LIKE 'handle_%' ORDER BY id")
    assert [(c["command"], c["acted_by"]) for c in handled] == [
        ("handle_events_checked_in", "event:events.checked_in"),
        ("handle_tickets_ticket_closed", "event:tickets.ticket_closed"),
    ]


def test_a_correction_by_an_administrator_is_a_new_entry(registry, member):
    _deliver(registry, "handle_events_checked_in", _example("events", "checked_in", person_id=member))
    with registry.admin() as alliance:
        (awarded,) = alliance.registry.member_points(person_id=member)["items"]
        corrected = alliance.registry.record_points(
            person_id=member, points=-2, reason="签到有误，未实际参加", corrects=awarded["entry_id"]
        )
        ledger = alliance.registry.member_points(person_id=member)
    assert (corrected["kind"], corrected["corrects_id"], corrected["balance"]) == ("correction", awarded["entry_id"], 0)
    assert [e["entry_id"] for e in ledger["items"]] == [corrected["entry_id"], awarded["entry_id"]]
    assert ledger["items"][1] == awarded, "the corrected entry is unchanged"
    (change,) = registry.db("SELECT acted_by, entities FROM changes WHERE command = 'record_points'")
    assert f"points_entry:{awarded['entry_id']}" in change["entities"] and f"person:{member}" in change["entities"]


def test_bad_points_requests_get_typed_errors_and_change_nothing(registry, member):
    before = registry.db("SELECT count(*) AS n FROM points_entries")[0]["n"], len(registry.published())
    with registry.admin() as alliance:
        for bad in ({"points": 0}, {"points": 1000}, {"reason": ""}, {"person_id": "not-a-uuid"}, {"extra": 1}):
            with pytest.raises(ValidationError):
                alliance.registry.record_points(**{"person_id": member, "points": 1, "reason": "志愿服务", **bad})
        with pytest.raises(NotFound):
            alliance.registry.record_points(
                person_id="00000000-0000-4000-8000-000000000000", points=1, reason="志愿服务"
            )
        with pytest.raises(NotFound):
            alliance.registry.record_points(
                person_id=member, points=1, reason="更正", corrects="00000000-0000-4000-8000-000000000000"
            )
        with pytest.raises(NotFound):
            alliance.registry.member_points(person_id="00000000-0000-4000-8000-000000000000")
        with pytest.raises(ValidationError):
            alliance.registry.rank_points(from_date="2026-12-31", to_date="2026-12-01")
        with pytest.raises(ValidationError):
            alliance.registry.member_points(person_id=member, limit=0)
    with registry.staff("aodele") as staff:
        with pytest.raises(Forbidden):
            staff.registry.record_points(person_id=member, points=1, reason="志愿服务")
    with registry.staff("outlets") as other:
        with pytest.raises(Forbidden):
            other.registry.member_points(person_id=member)
        with pytest.raises(Forbidden):
            other.registry.rank_points(branch_id="branch_aodele")
    after = registry.db("SELECT count(*) AS n FROM points_entries")[0]["n"], len(registry.published())
    assert after == before == (0, before[1])


def test_a_no_show_published_by_the_events_service_costs_the_member_a_point_once(registry, member):
    _deliver(registry, "handle_events_checked_in", _example("events", "checked_in", person_id=member))
    no_show = {"registration_id": str(uuid.uuid4()), "person_id": member, "merchant_id": None, "district_id": "aodele"}
    recorded = _example("events", "no_shows_recorded", no_shows=[no_show])
    assert len(_deliver(registry, "handle_events_no_shows_recorded", recorded)["recorded"]) == 1
    # The same fact announced again under another event id (a replay) finds the award given.
    replay = {**recorded, "event_id": uuid.uuid4().hex}
    assert _deliver(registry, "handle_events_no_shows_recorded", replay)["recorded"] == []
    held = _example("events", "meeting_held", attended=[member], excused=[], absent=[])
    assert len(_deliver(registry, "handle_events_meeting_held", held)["recorded"]) == 1
    with registry.staff("aodele") as staff:
        ledger = staff.registry.member_points(person_id=member)
    assert ledger["balance"] == 2
    assert [(e["rule"], e["points"], e["source"], e["source_entity_id"]) for e in ledger["items"]] == [
        ("attended_meeting", 1, "events.meeting_held", held["payload"]["meeting_id"]),
        ("no_show", -1, "events.no_shows_recorded", no_show["registration_id"]),
        ("attended_activity", 2, "events.checked_in", ledger["items"][2]["source_entity_id"]),
    ]
