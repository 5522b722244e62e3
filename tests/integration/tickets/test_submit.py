"""Submitting a demand: a reference number, routing, SLA deadlines, and what the merchant sees."""

import re

import pytest

from alliance_platform.errors import Forbidden, ValidationError
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query


def test_a_merchant_submits_and_gets_a_reference_it_can_quote(tickets):
    merchant = tickets.seed_merchant()
    with tickets.merchant(merchant) as alliance:
        first = alliance.tickets.submit_ticket(**demand(merchant))
        second = alliance.tickets.submit_ticket(**demand(merchant, title="第二件事"))
        view = alliance.tickets.get_ticket(reference=first["reference"])
    year = re.match(r"^DM-(\d{4})-000001$", first["reference"]).group(1)
    assert second["reference"] == f"DM-{year}-000002"
    assert first["status"] == view["status"] == "submitted"
    assert view["promised_by"] == first["resolution_due_at"] and view["responsible"] is None
    assert "team" not in view and "checklist" not in view, "the merchant's view shows no internal routing"
    submitted, assigned = tickets.published("ticket_submitted"), tickets.published("ticket_assigned")
    assert [e["payload"]["reference"] for e in submitted] == [first["reference"], second["reference"]]
    assert assigned[0]["payload"]["team"] == "bank-liaisons" and assigned[0]["payload"]["accepted"] is False


def test_staff_see_the_routing_and_the_deadlines(tickets):
    merchant = tickets.seed_merchant()
    with tickets.staff() as alliance:
        ticket = alliance.tickets.submit_ticket(**demand(merchant, handling_mode="on_the_spot"))
        view = alliance.tickets.get_ticket(ticket_id=ticket["ticket_id"])
    assert view["team"] == "bank-liaisons" and view["style"] == "expertise"  # no liaison with the skill: the team
    assert view["first_response_due_at"] < view["promised_by"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"category": "fortune_telling"}, "category"),
        ({"handling_mode": "someday"}, "handling_mode"),
        ({"merchant_id": "not-a-uuid"}, "merchant_id"),
        ({"description": "x" * 4001}, "description"),
        ({"attachments": [f"https://files.example.cn/{n}.jpg" for n in range(10_000)]}, "attachments"),
        ({"attachments": [f"https://files.example.cn/{n}.jpg" for n in range(21)]}, "attachments"),
        ({"attachments": ["https://files.example.cn/" + "x" * 2048]}, "attachments"),
        ({"requester_id": "r" * 101}, "requester_id"),
    ],
)
def test_bad_demands_are_refused_and_nothing_is_written(tickets, change, field):
    merchant = tickets.seed_merchant()
    with tickets.admin() as alliance:
        with pytest.raises(ValidationError) as caught:
            alliance.tickets.submit_ticket(**{**demand(merchant), **change})
    assert field in caught.value.fields
    assert query(tickets.database, "SELECT count(*) AS n FROM tickets")[0]["n"] == 0


def test_unknown_merchants_and_other_peoples_shops_are_refused(tickets):
    mine, theirs = tickets.seed_merchant(), tickets.seed_merchant()
    with tickets.admin() as alliance:
        with pytest.raises(ValidationError, match="unknown merchant"):
            alliance.tickets.submit_ticket(**demand("00000000-0000-4000-8000-000000000000"))
    with tickets.merchant(mine) as alliance:
        with pytest.raises(Forbidden):
            alliance.tickets.submit_ticket(**demand(theirs))
    with tickets.staff(district="outlets") as alliance:
        with pytest.raises(Forbidden):
            alliance.tickets.submit_ticket(**demand(mine))
    assert query(tickets.database, "SELECT count(*) AS n FROM tickets")[0]["n"] == 0
    assert tickets.published() == []


def test_routing_styles_find_the_expert_the_paired_member_and_the_least_busy_volunteer(tickets):
    merchant = tickets.seed_merchant()
    lawyer = tickets.seed_person(["volunteer"], skills=["法律", "调解"])
    member = tickets.seed_person(["party_member"])
    tickets.seed_pairing(member, merchant)
    busy, idle = tickets.seed_person(["volunteer"], name="忙"), tickets.seed_person(["volunteer"], name="闲")
    with tickets.admin() as alliance:
        for _ in range(2):
            ticket = alliance.tickets.submit_ticket(**demand(merchant, category="policy_consultation"))
            alliance.tickets.assign_ticket(ticket_id=ticket["ticket_id"], assignee_id=busy, reason="熟悉政策")
        rights = alliance.tickets.get_ticket(
            **_id(alliance.tickets.submit_ticket(**demand(merchant, category="rights_protection")))
        )
        party = alliance.tickets.get_ticket(
            **_id(alliance.tickets.submit_ticket(**demand(merchant, category="party_affairs")))
        )
        policy = alliance.tickets.get_ticket(
            **_id(alliance.tickets.submit_ticket(**demand(merchant, category="policy_consultation")))
        )
        checklist = alliance.tickets.get_ticket(
            **_id(alliance.tickets.submit_ticket(**demand(merchant, category="government_affairs")))
        )
    assert (rights["style"], rights["proposed_id"]) == ("expertise", lawyer)
    assert (party["style"], party["proposed_id"]) == ("pairing", member)
    assert policy["proposed_id"] in (lawyer, idle) and policy["proposed_id"] != busy
    assert checklist["style"] == "checklist" and [i["item"] for i in checklist["checklist"]][0] == "核对营业执照"


def _id(ticket):
    return {"ticket_id": ticket["ticket_id"]}
