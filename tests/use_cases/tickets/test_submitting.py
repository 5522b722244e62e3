"""Submitting a demand: who may, a yearly reference number, routing by assistance style, SLA
deadlines in working time, a timeline line and two events — or, refused, nothing at all."""

from datetime import UTC, datetime

import pytest

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_tickets import use_cases
from alliance_tickets.domain import lifecycle as lc
from tests.use_cases.tickets.conftest import ADMIN, SETTINGS, demand, shop, staff


def test_a_merchant_submits_for_its_shop_and_the_deadlines_count_working_time(tickets):
    merchant = tickets.merchant()
    ticket = tickets.submitted(merchant)
    assert ticket["reference"] == "DM-2026-000001" and ticket["status"] == lc.SUBMITTED
    targets = SETTINGS.sla.targets("bank_financing", "assisted")
    assert ticket["first_response_due_at"] == SETTINGS.calendar.add(tickets.now, targets.first_response)
    assert ticket["resolution_due_at"] == SETTINGS.calendar.add(tickets.now, targets.resolution)
    assert ticket["requester_id"] == shop(merchant).subject
    [line] = tickets.timeline(ticket["id"])
    assert (line["kind"], line["to_status"], line["actor"], line["visible_to_merchant"]) == (
        "submitted",
        "submitted",
        f"merchant:{shop(merchant).subject}",
        True,
    )
    assert tickets.event_types() == ["ticket_submitted", "ticket_assigned"]
    [assigned] = tickets.payloads("ticket_assigned")
    assert (assigned["team"], assigned["assignee_id"], assigned["accepted"]) == ("bank-liaisons", None, False)


def test_reference_numbers_follow_each_other_and_start_again_each_year_of_the_centres_calendar(tickets):
    merchant = tickets.merchant()
    tickets.now = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)  # 20:00 in Dezhou: still 2026
    first, second = tickets.submitted(merchant), tickets.submitted(merchant)
    tickets.now = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 January in Dezhou
    third = tickets.submitted(merchant)
    assert [t["reference"] for t in (first, second, third)] == ["DM-2026-000001", "DM-2026-000002", "DM-2027-000001"]


def test_staff_submit_for_the_shops_of_their_districts_only(tickets):
    merchant = tickets.merchant(district="outlets")
    own = tickets.call(use_cases.submit_ticket, staff("outlets"), **demand(merchant))
    assert own["district_id"] == "outlets"
    tickets.refused(Forbidden, use_cases.submit_ticket, staff("aodele"), **demand(merchant))
    tickets.refused(Forbidden, use_cases.submit_ticket, staff("outlets", roles=("party_member",)), **demand(merchant))


@pytest.mark.parametrize(
    "who, error",
    [("unknown", ValidationError), ("closed", Conflict), ("another shop", Forbidden)],
)
def test_a_refused_submission_writes_nothing(tickets, who, error):
    mine = tickets.merchant()
    target = {
        "unknown": "00000000-0000-4000-8000-000000000000",
        "closed": tickets.merchant(status="closed"),
        "another shop": tickets.merchant(),
    }[who]
    caller = shop(mine) if who == "another shop" else ADMIN
    tickets.refused(error, use_cases.submit_ticket, caller, **demand(target))
    assert tickets.query("SELECT count(*) AS n FROM tickets") == [{"n": 0}]


def test_routing_proposes_the_expert_the_paired_member_and_the_least_busy_volunteer(tickets):
    merchant = tickets.merchant()
    lawyer = tickets.person(["volunteer"], skills=["法律", "调解"])
    member = tickets.person(["party_member"])
    tickets.learn(
        use_cases.pairing_started,
        {"pairing_id": "7d5c0e2a-1b3f-4c6d-8e9f-0a1b2c3d4e5f", "person_id": member, "merchant_id": merchant},
    )
    busy, idle = tickets.person(["volunteer"], name="忙"), tickets.person(["volunteer"], name="闲")
    for _ in range(2):
        ticket = tickets.submitted(merchant, category="policy_consultation")
        tickets.call(use_cases.assign_ticket, ADMIN, ticket_id=str(ticket["id"]), assignee_id=busy, reason="熟悉政策")

    rights = tickets.submitted(merchant, category="rights_protection")
    party = tickets.submitted(merchant, category="party_affairs")
    policy = tickets.submitted(merchant, category="policy_consultation")
    assert (rights["style"], rights["proposed_id"], rights["team"]) == ("expertise", lawyer, None)
    assert (party["style"], party["proposed_id"]) == ("pairing", member)
    assert policy["style"] == "volunteer" and policy["proposed_id"] in (lawyer, idle)


def test_nobody_to_propose_falls_back_to_the_rules_team_and_a_checklist_style_copies_its_steps(tickets):
    merchant = tickets.merchant()
    financing = tickets.submitted(merchant)  # no liaison with the skill yet
    assert (financing["style"], financing["proposed_id"], financing["team"]) == ("expertise", None, "bank-liaisons")
    papers = tickets.submitted(merchant, category="government_affairs")
    assert (papers["style"], papers["team"]) == ("checklist", "government-liaisons")
    assert [(i["id"], i["item"], i["done"]) for i in papers["checklist"]] == [
        (1, "核对营业执照", False),
        (2, "填写申请表", False),
        (3, "代为递交职能部门", False),
    ]
    assert financing["checklist"] == [], "only a checklist-style demand has a checklist"


def test_the_sweeps_partial_indexes_name_the_lifecycles_states(tickets):
    """The migrations write the states as literals (an index predicate cannot take a parameter):
    they must be the states the lifecycle names."""
    predicates = {
        row["indexname"]: row["indexdef"]
        for row in tickets.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'")
    }
    running = {state for state in lc.STATES if f"'{state}'" in predicates["tickets_open_deadlines"]}
    assert running == lc.SLA_RUNNING
    assert {state for state in lc.STATES if f"'{state}'" in predicates["tickets_resolved_at"]} == {lc.RESOLVED}
