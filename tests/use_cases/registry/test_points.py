"""Party members' points (党员积分) on a real session: awards from the other services' facts once
per rule, thing and member; manual entries and corrections as new entries; the balance, the
history's pages, who may read them; rankings with ties and periods."""

import uuid
from datetime import timedelta

import psycopg
import pytest

from alliance_contracts import example_envelopes, parse_event
from alliance_platform.errors import Forbidden, NotFound, ValidationError
from alliance_registry import queries, use_cases
from tests.support.harness import identity

from .conftest import ADMIN, NOON, staff
from .samples import merchant_fields, person_fields


def _member(register, district="aodele", name="王建国"):
    person = register(use_cases.register_person, **person_fields(district_id=district, name=name))
    register(
        use_cases.register_party_member,
        person_id=person["person_id"],
        branch_id=f"branch_{district}",
        joined_on="2005-07-01",
    )
    return person["person_id"]


def _event(source, event_type, event_id=None, **payload):
    envelope = example_envelopes(source, event_type)[0]
    return parse_event(
        {**envelope, "event_id": event_id or uuid.uuid4().hex, "payload": {**envelope["payload"], **payload}}
    )


def _checked_in(person_id, registration_id=None, event_id=None):
    return _event(
        "events",
        "checked_in",
        event_id,
        person_id=person_id,
        registration_id=registration_id or str(uuid.uuid4()),
        district_id="aodele",
    )


def _ledger(register, person_id):
    return register.db(
        "SELECT points, kind, rule, source, source_entity_id, corrects_id::text, branch_id, district_id, actor"
        " FROM points_entries WHERE person_id = %s ORDER BY seq",
        (person_id,),
    )


def test_an_attendance_gives_points_once_however_often_it_arrives(register):
    member = _member(register)
    event = _checked_in(member)
    first = register.run(use_cases.award_points, event)
    assert len(first["recorded"]) == 1 and first["skipped"] == []
    again = register.run(use_cases.award_points, event)  # the same event redelivered
    assert again == {
        "recorded": [],
        "skipped": [{"rule": "attended_activity", "person_id": member, "reason": "already awarded"}],
    }
    # Another event announcing the same check-in (a replay under a new id) gives nothing either.
    register.run(use_cases.award_points, _checked_in(member, event.payload["registration_id"]))
    (entry,) = _ledger(register, member)
    assert (entry["points"], entry["kind"], entry["rule"], entry["source"]) == (
        2,
        "award",
        "attended_activity",
        "events.checked_in",
    )
    assert (entry["branch_id"], entry["district_id"], entry["actor"]) == (
        "branch_aodele",
        "aodele",
        "event:events.checked_in",
    )
    assert entry["source_entity_id"] == event.payload["registration_id"]
    ((_, recorded),) = register.events("points_recorded")
    assert (recorded["person_id"], recorded["points"], recorded["balance"]) == (member, 2, 2)
    assert recorded["source_event_id"] == event.event_id
    assert [h["action"] for h in register.history(member)][-1] == "points_recorded"


def test_a_fact_naming_someone_who_is_no_party_member_gives_nothing(register):
    plain = register(use_cases.register_person, **person_fields())["person_id"]
    for person_id in (plain, str(uuid.uuid4()), "p-1"):
        outcome = register.run(use_cases.award_points, _checked_in(person_id))
        assert outcome["recorded"] == [] and outcome["skipped"][0]["reason"] == "not a registered Party member"
    assert register.count("points_entries") == 0 and register.events("points_recorded") == []


def test_a_closed_demand_rewards_its_responsible_member_and_a_good_rating_more(register):
    member = _member(register)
    ticket = str(uuid.uuid4())
    closed = _event("tickets", "ticket_closed", responsible_id=member, ticket_id=ticket, rating=5)
    assert len(register.run(use_cases.award_points, closed)["recorded"]) == 2
    # Reopened and closed again: the same demand rewarded already.
    assert (
        register.run(
            use_cases.award_points,
            _event("tickets", "ticket_closed", responsible_id=member, ticket_id=ticket, rating=4),
        )["recorded"]
        == []
    )
    register.run(use_cases.award_points, _event("tickets", "ticket_closed", responsible_id=member, rating=3))
    assert [(e["rule"], e["points"]) for e in _ledger(register, member)] == [
        ("handled_demand", 1),
        ("good_rating", 1),
        ("handled_demand", 1),
    ]
    assert register(queries.member_points, person_id=member)["balance"] == 3


def test_an_ended_pairing_rewards_its_member_in_the_same_transaction(register):
    member = _member(register)
    shop = register(use_cases.register_merchant, **merchant_fields(district_id="aodele"))
    pairing = register(use_cases.start_pairing, person_id=member, merchant_id=shop["merchant_id"])
    register.now = NOON + timedelta(days=30)
    register(use_cases.end_pairing, pairing_id=pairing["pairing_id"], reason="已开店")
    ((entry),) = _ledger(register, member)
    assert (entry["rule"], entry["points"], entry["source_entity_id"]) == (
        "completed_pairing",
        3,
        pairing["pairing_id"],
    )
    assert entry["actor"] == f"staff:{ADMIN.subject}"


def test_a_correction_is_a_new_entry_and_the_corrected_one_stays(register):
    member = _member(register)
    register.run(use_cases.award_points, _checked_in(member))
    (awarded,) = register(queries.member_points, person_id=member)["items"]
    manual = register(use_cases.record_points, person_id=member, points=5, reason="志愿服务表现突出")
    assert (manual["kind"], manual["balance"], manual["corrects_id"]) == ("manual", 7, None)
    corrected = register(
        use_cases.record_points, person_id=member, points=-2, reason="签到有误", corrects=awarded["entry_id"]
    )
    assert (corrected["kind"], corrected["corrects_id"], corrected["balance"]) == ("correction", awarded["entry_id"], 5)
    assert [(e["kind"], e["points"]) for e in _ledger(register, member)] == [
        ("award", 2),
        ("manual", 5),
        ("correction", -2),
    ]
    assert [p["balance"] for _, p in register.events("points_recorded")] == [2, 7, 5]
    with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
        register.db("UPDATE points_entries SET points = 100")
    with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
        register.db("DELETE FROM points_entries")


def test_a_bad_manual_entry_is_refused_and_writes_nothing(register):
    member, other = _member(register), _member(register, "outlets")
    register(use_cases.record_points, person_id=other, points=1, reason="x")
    (others,) = register(queries.member_points, person_id=other)["items"]
    with pytest.raises(NotFound):
        register(use_cases.record_points, person_id=str(uuid.uuid4()), points=1, reason="x")
    plain = register(use_cases.register_person, **person_fields())["person_id"]
    before = (register.count("points_entries"), register.count("outbox"), register.count("history"))
    with pytest.raises(NotFound, match="not a registered Party member"):
        register(use_cases.record_points, person_id=plain, points=1, reason="x")
    with pytest.raises(NotFound, match="no points entry"):
        register(use_cases.record_points, person_id=member, points=1, reason="x", corrects=str(uuid.uuid4()))
    with pytest.raises(ValidationError) as another:
        register(use_cases.record_points, person_id=member, points=-1, reason="x", corrects=others["entry_id"])
    assert "corrects" in another.value.fields
    for bad in (
        {"points": 0},
        {"points": 101},
        {"points": -101},
        {"points": "3"},
        {"reason": ""},
        {"reason": "长" * 201},
    ):
        with pytest.raises(ValidationError):
            register(use_cases.record_points, **{"person_id": member, "points": 1, "reason": "x", **bad})
    assert (register.count("points_entries"), register.count("outbox"), register.count("history")) == before


def test_a_members_history_comes_newest_first_in_pages_and_to_whom(register):
    member = _member(register)
    for n in range(1, 6):
        register(use_cases.record_points, person_id=member, points=n, reason=f"第{n}次")
    first = register(queries.member_points, person_id=member, limit=2)
    assert (first["balance"], first["entries"], first["branch_id"]) == (15, 5, "branch_aodele")
    assert [e["points"] for e in first["items"]] == [5, 4]
    second = register(queries.member_points, person_id=member, limit=2, cursor=first["next_cursor"])
    third = register(queries.member_points, person_id=member, limit=2, cursor=second["next_cursor"])
    assert [e["points"] for e in second["items"] + third["items"]] == [3, 2, 1] and third["next_cursor"] is None
    with pytest.raises(ValidationError, match="cursor"):
        register(queries.member_points, person_id=_member(register), cursor=first["next_cursor"])
    # The member reads their own; staff of the branch's district read it; others do not.
    themselves = identity("staff", roles=["volunteer"], districts=["outlets"], subject=member)
    assert register(queries.member_points, themselves, person_id=member)["balance"] == 15
    assert register(queries.member_points, staff("aodele"), person_id=member)["balance"] == 15
    with pytest.raises(Forbidden):
        register(queries.member_points, staff("outlets"), person_id=member)
    with pytest.raises(Forbidden):
        register(
            queries.member_points,
            identity("merchant", roles=["merchant"], merchant_id=str(uuid.uuid4())),
            person_id=member,
        )
    with pytest.raises(NotFound):
        register(queries.member_points, person_id=str(uuid.uuid4()))


def test_a_ranking_shares_ranks_on_ties_and_counts_only_its_period_and_branch(register):
    a, b, c = (_member(register, name=n) for n in ("甲", "乙", "丙"))
    d = _member(register, "outlets", name="丁")
    register.now = NOON - timedelta(days=40)  # last month (Dezhou's 1 December: NOON is its noon)
    register(use_cases.record_points, person_id=c, points=50, reason="上月")
    register.now = NOON
    for person_id, n in ((a, 5), (b, 5), (c, 3), (d, 9)):
        register(use_cases.record_points, person_id=person_id, points=n, reason="本月")

    def ranking(caller=ADMIN, **query):
        return [
            (r["rank"], r["person_id"], r["points"]) for r in register(queries.rank_points, caller, **query)["items"]
        ]

    december = {"from_date": "2026-12-01", "to_date": "2026-12-31"}
    tied = sorted([a, b])
    assert ranking(branch_id="branch_aodele", **december) == [(1, tied[0], 5), (1, tied[1], 5), (3, c, 3)]
    assert ranking(branch_id="branch_aodele") == [(1, c, 53), (2, tied[0], 5), (2, tied[1], 5)]  # all time
    assert ranking(**december)[0] == (1, d, 9)  # the alliance
    assert ranking(district_id="outlets", **december) == [(1, d, 9)]
    assert ranking(staff("aodele"), **december) == [(1, tied[0], 5), (1, tied[1], 5), (3, c, 3)], "its districts"
    assert ranking(to_date="2026-11-30") == [(1, c, 50)]
    assert ranking(from_date="2027-01-01") == []
    assert [
        name for name in (r["name"] for r in register(queries.rank_points, branch_id="branch_aodele", limit=1)["items"])
    ] == ["丙"]
    with pytest.raises(ValidationError):
        register(queries.rank_points, from_date="2026-12-31", to_date="2026-12-01")
    with pytest.raises(ValidationError, match="unknown branch"):
        register(queries.rank_points, branch_id="branch_nowhere")
    with pytest.raises(Forbidden):
        register(queries.rank_points, staff("aodele"), branch_id="branch_outlets")
    with pytest.raises(Forbidden):
        register(queries.rank_points, staff("aodele"), district_id="outlets")


def test_a_no_show_loses_a_point_once_and_one_who_is_no_party_member_nothing(register):
    member, plain = _member(register), register(use_cases.register_person, **person_fields())["person_id"]
    no_shows = [
        {"registration_id": str(uuid.uuid4()), "person_id": who, "merchant_id": None, "district_id": "aodele"}
        for who in (member, plain)
    ]
    register.run(use_cases.award_points, _checked_in(member))
    event = _event("events", "no_shows_recorded", no_shows=no_shows, title="端午亲子露营节")
    outcome = register.run(use_cases.award_points, event)
    assert len(outcome["recorded"]) == 1
    assert outcome["skipped"] == [{"rule": "no_show", "person_id": plain, "reason": "not a registered Party member"}]
    register.run(use_cases.award_points, event)  # redelivered
    entries = _ledger(register, member)
    assert [(e["points"], e["rule"], e["source"]) for e in entries] == [
        (2, "attended_activity", "events.checked_in"),
        (-1, "no_show", "events.no_shows_recorded"),
    ]
    assert entries[1]["source_entity_id"] == no_shows[0]["registration_id"]
    assert [r["balance"] for _, r in register.events("points_recorded")] == [2, 1]


def test_coming_to_a_branch_meeting_earns_a_point_once(register):
    member = _member(register)
    meeting = _event("events", "meeting_held", attended=[member], excused=[], absent=[])
    register.run(use_cases.award_points, meeting)
    register.run(use_cases.award_points, meeting)
    assert [(e["points"], e["rule"], e["source_entity_id"]) for e in _ledger(register, member)] == [
        (1, "attended_meeting", meeting.payload["meeting_id"])
    ]
