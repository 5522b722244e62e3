"""The registry's organisations as the demand desk follows them (organisation_* events, kept by
version): a partner rule routes to a bank's liaison and around a retired one (saying so on the
timeline); a referral to a partner organisation names it by id, shows its current name, and is
refused for a retired one or one without a liaison."""

import dataclasses
import uuid

import marshmallow

from alliance_platform.errors import Conflict, ValidationError
from alliance_tickets import queries, use_cases
from alliance_tickets.domain.routing import RoutingTable
from tests.support.helpers import query
from tests.use_cases.tickets.conftest import ADMIN, SETTINGS, staff

PARTNER_RULES = [
    {
        "category": "bank_financing",
        "district": "*",
        "style": "partner",
        "organisation": "dezhou_bank",
        "fallback_team": "bank-liaisons",
    },
    {"category": "*", "district": "*", "style": "team", "team": "service-centre"},
]


def _organisation(version=1, **overrides):
    return {
        "organisation_id": "dezhou_bank",
        "version": version,
        "type": "bank",
        "name": "德州银行天衢新区支行",
        "name_en": "Bank of Dezhou",
        "short_name": "德州银行",
        "parent_id": None,
        "district_id": None,
        "status": "active",
        "liaison_ids": [],
        "changed_at": "2026-12-01T02:00:00+00:00",
        "reason": None,
        **overrides,
    }


def _directory(tickets):
    return tickets.query(
        "SELECT name, status, liaison_ids, version FROM organisation_directory WHERE organisation_id = 'dezhou_bank'"
    )


def test_the_directory_starts_with_the_organisations_the_registry_seeds_as_it_has_them(tickets, use_case):
    """The alliance, its branches and the bodies above it are never announced (they exist before any
    queue): the directory holds them from its migration, exactly as the registry's version 1."""
    columns = "type, name, short_name, status, version"
    seeded = query(
        use_case.database("registry"),
        f"SELECT id AS organisation_id, {columns} FROM organisations ORDER BY id",
    )
    assert {row["organisation_id"] for row in seeded} >= {"alliance", "branch_aodele", "branch_outlets"}
    assert (
        tickets.query(f"SELECT organisation_id, {columns} FROM organisation_directory ORDER BY organisation_id")
        == seeded
    )
    assert tickets.query("SELECT DISTINCT liaison_ids FROM organisation_directory") == [{"liaison_ids": []}]


def test_the_newest_version_of_an_organisation_wins_whatever_the_order(tickets):
    tickets.learn(use_cases.organisation_changed, _organisation(3, status="retired"))
    tickets.learn(use_cases.organisation_changed, _organisation(2, name="旧名"))
    tickets.learn(use_cases.organisation_changed, _organisation(1))
    assert _directory(tickets) == [
        {"name": "德州银行天衢新区支行", "status": "retired", "liaison_ids": [], "version": 3}
    ]
    tickets.learn(use_cases.organisation_changed, _organisation(3, status="active"))  # a redelivery changes nothing
    assert _directory(tickets)[0]["status"] == "retired"


def test_a_partner_rule_routes_to_the_banks_liaison_until_it_is_retired(tickets):
    tickets.settings = dataclasses.replace(SETTINGS, routing=RoutingTable(PARTNER_RULES, SETTINGS.calendar))
    merchant = tickets.merchant()
    liaison = tickets.person(["department_liaison"], name="李红")
    tickets.learn(use_cases.organisation_changed, _organisation(1, liaison_ids=[liaison]))
    routed = tickets.submitted(merchant)
    assert (routed["style"], routed["proposed_id"], routed["team"], routed["partner_id"]) == (
        "partner",
        liaison,
        None,
        "dezhou_bank",
    )
    [assigned] = tickets.payloads("ticket_assigned")
    assert assigned["assignee_id"] == liaison

    tickets.learn(use_cases.organisation_changed, _organisation(2, status="retired"))
    around = tickets.submitted(merchant)
    assert (around["proposed_id"], around["team"], around["partner_id"]) == (None, "bank-liaisons", None)
    [fell_back] = [line for line in tickets.timeline(around["id"]) if line["kind"] == "routing_fell_back"]
    assert "德州银行天衢新区支行 (dezhou_bank) is retired" in fell_back["text"]
    assert fell_back["visible_to_merchant"] is False
    assert not [line for line in tickets.timeline(routed["id"]) if line["kind"] == "routing_fell_back"]


def _in_progress(tickets):
    merchant = tickets.merchant()
    owner = staff(subject=tickets.person(["staff"]))
    return tickets.in_progress(merchant, owner), owner


def test_a_referral_to_a_bank_with_a_liaison_names_it_and_shows_its_current_name(tickets):
    liaison = str(uuid.uuid4())
    tickets.learn(use_cases.organisation_changed, _organisation(1, liaison_ids=[liaison]))
    ticket, owner = _in_progress(tickets)
    referred = tickets.call(use_cases.refer_ticket, owner, ticket_id=str(ticket["id"]), partner_id="dezhou_bank")
    assert (referred["status"], referred["partner"], referred["partner_id"]) == (
        "referred",
        "德州银行天衢新区支行",
        "dezhou_bank",
    )
    [event] = tickets.payloads("ticket_referred")
    assert (event["partner_id"], event["partner_liaison_ids"], event["partner"]) == (
        "dezhou_bank",
        [liaison],
        "德州银行天衢新区支行",
    )
    tickets.learn(use_cases.organisation_changed, _organisation(2, name="德州银行天衢支行", liaison_ids=[liaison]))
    shown = tickets.call(queries.get_ticket, ADMIN, ticket_id=str(ticket["id"]))
    assert shown["partner"] == "德州银行天衢支行"


def test_a_referral_in_free_text_still_works_and_tells_no_liaison(tickets):
    ticket, owner = _in_progress(tickets)
    referred = tickets.call(use_cases.refer_ticket, owner, ticket_id=str(ticket["id"]), partner="区市场监管局")
    assert (referred["partner"], referred["partner_id"]) == ("区市场监管局", None)
    [event] = tickets.payloads("ticket_referred")
    assert (event["partner_id"], event["partner_liaison_ids"]) == (None, [])


def test_a_referral_the_partner_cannot_receive_is_refused_and_changes_nothing(tickets):
    ticket, owner = _in_progress(tickets)
    ticket_id = str(ticket["id"])
    tickets.refused(ValidationError, use_cases.refer_ticket, owner, ticket_id=ticket_id, partner_id="nobody")
    tickets.learn(use_cases.organisation_changed, _organisation(1))
    error = tickets.refused(Conflict, use_cases.refer_ticket, owner, ticket_id=ticket_id, partner_id="dezhou_bank")
    assert "has no liaison" in str(error)
    tickets.learn(use_cases.organisation_changed, _organisation(2, status="retired", liaison_ids=["p-1"]))
    error = tickets.refused(Conflict, use_cases.refer_ticket, owner, ticket_id=ticket_id, partner_id="dezhou_bank")
    assert "retired" in str(error)
    tickets.learn(
        use_cases.organisation_changed,
        _organisation(1, organisation_id="branch_aodele", type="party_branch", liaison_ids=["p-1"]),
    )
    tickets.refused(ValidationError, use_cases.refer_ticket, owner, ticket_id=ticket_id, partner_id="branch_aodele")
    # Both names, or neither: the schema refuses.
    for arguments in ({}, {"partner": "德州银行", "partner_id": "dezhou_bank"}):
        tickets.refused(marshmallow.ValidationError, use_cases.refer_ticket, owner, ticket_id=ticket_id, **arguments)
