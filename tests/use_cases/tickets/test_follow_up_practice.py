"""The demand desk's follow-up practice on a real database: follow-up calls and what they found
("closed" is not "solved"), supervision by a district leader with reminders in working time, units
ranked, duplicates merged, the custody log of assisted handling, least-loaded routing."""

import dataclasses
from datetime import timedelta

import pytest

from alliance_platform.config import load_config
from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_tickets import queries, timers, use_cases
from alliance_tickets.domain import lifecycle as lc
from alliance_tickets.settings import Settings
from tests.use_cases.tickets.conftest import ADMIN, SETTINGS, Tickets, shop, staff

PERIOD = {"since": "2026-11-01T00:00:00+08:00", "until": "2027-01-01T00:00:00+08:00"}


def _with(tickets, **changes):
    tickets.settings = dataclasses.replace(SETTINGS, **changes)
    return tickets


@pytest.fixture
def desk(tickets):
    """A Wholesale City merchant, its district's branch secretary (as the registry told the
    service) and a staff member who handles the demands."""
    merchant = tickets.merchant()
    secretary = tickets.person(["branch_secretary"])
    owner = staff(subject=tickets.person(["staff"]))
    return merchant, staff(subject=secretary, roles=("branch_secretary",)), owner


# --- follow-up calls (回访) ---------------------------------------------------------------------


def test_a_poor_rating_owes_a_call_by_the_secretary_whose_outcome_is_recorded_once(tickets, desk):
    merchant, secretary, owner = desk
    _with(tickets, follow_up_sample_share=0.0)
    ticket_id = str(tickets.resolved(merchant, owner)["id"])
    tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=ticket_id, rating=1, comment="没人管")
    [owed] = tickets.query("SELECT * FROM follow_up_calls WHERE ticket_id = %s", (ticket_id,))
    assert (owed["reason"], owed["call_by_id"], owed["rating"], owed["outcome"]) == (
        "poor_rating",
        secretary.subject,
        1,
        None,
    )
    assert owed["due_at"] == SETTINGS.calendar.add(tickets.now, 540), "a working day later"
    [scheduled] = tickets.payloads("follow_up_call_scheduled")
    assert (scheduled["follow_up_id"], scheduled["reason"]) == (str(owed["id"]), "poor_rating")

    tickets.refused(Forbidden, use_cases.record_follow_up, staff("aodele"), ticket_id=ticket_id, outcome="solved")
    tickets.refused(Forbidden, use_cases.record_follow_up, shop(merchant), ticket_id=ticket_id, outcome="solved")
    tickets.advance(hours=2)
    recorded = tickets.call(
        use_cases.record_follow_up, secretary, ticket_id=ticket_id, outcome="not_solved", note="额度仍不够"
    )
    assert (recorded["outcome"], recorded["recorded_by"], recorded["recorded_at"]) == (
        "not_solved",
        secretary.subject,
        tickets.now,
    )
    [event] = tickets.payloads("follow_up_call_recorded")
    assert (event["outcome"], event["note"], event["responsible_id"]) == ("not_solved", "额度仍不够", owner.subject)
    line = tickets.timeline(ticket_id)[-1]
    assert (line["kind"], line["visible_to_merchant"], line["text"]) == (
        "follow_up_recorded",
        False,
        "回访：问题未解决：额度仍不够",
    )
    error = tickets.refused(Conflict, use_cases.record_follow_up, secretary, ticket_id=ticket_id, outcome="solved")
    assert "recorded already" in str(error)
    view = tickets.call(queries.get_ticket, owner, ticket_id=ticket_id)
    assert [f["outcome"] for f in view["follow_ups"]] == ["not_solved"]


def test_a_second_poor_rating_while_a_call_is_owed_owes_no_second_call(tickets, desk):
    merchant, _, owner = desk
    _with(tickets, follow_up_sample_share=0.0)
    ticket_id = str(tickets.resolved(merchant, owner)["id"])
    tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=ticket_id, rating=2)
    tickets.call(use_cases.resolve_ticket, owner, ticket_id=ticket_id, resolution="再次办结")
    tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=ticket_id, rating=2)
    assert len(tickets.query("SELECT 1 FROM follow_up_calls WHERE ticket_id = %s", (ticket_id,))) == 1
    assert len(tickets.payloads("follow_up_call_scheduled")) == 1


@pytest.mark.parametrize("share, calls", [(1.0, 2), (0.0, 0)])
def test_the_configured_share_of_closed_demands_is_called_back_closed_by_the_merchant_or_by_time(
    tickets, desk, share, calls
):
    merchant, secretary, owner = desk
    _with(tickets, follow_up_sample_share=share)
    rated = str(tickets.resolved(merchant, owner)["id"])
    tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=rated, rating=4)
    unconfirmed = str(tickets.resolved(merchant, owner)["id"])
    tickets.advance(days=lc.AUTO_CLOSE_DAYS, minutes=1)
    tickets.tick(timers.sweep_deadlines)
    assert tickets.row(unconfirmed)["status"] == lc.CLOSED
    scheduled = tickets.payloads("follow_up_call_scheduled")
    assert len(scheduled) == calls
    assert all(p["reason"] == "sample" and p["call_by_id"] == secretary.subject for p in scheduled)
    assert [p["rating"] for p in scheduled] == [4, None][:calls]


def test_the_figures_tell_closed_from_solved_per_unit(tickets, desk):
    merchant, secretary, owner = desk
    _with(tickets, follow_up_sample_share=1.0)
    solved, unsolved, unknown = (str(tickets.resolved(merchant, owner)["id"]) for _ in range(3))
    for ticket_id in (solved, unsolved, unknown):
        tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=ticket_id, rating=5)
    tickets.call(use_cases.record_follow_up, secretary, ticket_id=solved, outcome="solved")
    tickets.call(use_cases.record_follow_up, secretary, ticket_id=unsolved, outcome="not_solved")
    aodele = tickets.merchant("aodele")
    tickets.submitted(aodele)
    stats = tickets.call(queries.stats, ADMIN, **PERIOD)
    figures = {unit: row for unit, row in stats["by_unit"].items()}
    wholesale = figures["wholesale_city"]
    assert (wholesale["closed"], wholesale["followed_up"], wholesale["solved"], wholesale["not_solved"]) == (3, 2, 1, 1)
    assert float(wholesale["solved_rate"]) == 0.5
    assert (figures["aodele"]["closed"], figures["aodele"]["solved"]) == (0, 0)
    assert stats["total"]["solved"] == 1 and stats["by_district"]["wholesale_city"]["solved"] == 1


# --- supervision (督办) -------------------------------------------------------------------------


def _late(tickets, merchant, owner):
    """A same-day demand in work whose resolution deadline (4 working hours) has passed."""
    ticket_id = str(tickets.in_progress(merchant, owner, category="other", handling_mode="on_the_spot")["id"])
    tickets.advance(hours=5)
    return ticket_id


def test_a_district_leader_supervises_an_overdue_demand_its_owner_reminded_until_resolved(tickets, desk):
    merchant, secretary, owner = desk
    on_time = str(tickets.in_progress(merchant, owner)["id"])
    due = (tickets.now + timedelta(days=2)).isoformat()
    error = tickets.refused(Conflict, use_cases.supervise_ticket, secretary, ticket_id=on_time, due_at=due, reason="x")
    assert "neither overdue nor escalated" in str(error)
    ticket_id = _late(tickets, merchant, owner)
    due = (tickets.now + timedelta(days=2)).isoformat()
    for caller in (owner, staff("aodele", roles=("branch_secretary",))):
        tickets.refused(Forbidden, use_cases.supervise_ticket, caller, ticket_id=ticket_id, due_at=due, reason="x")
    tickets.refused(
        ValidationError,
        use_cases.supervise_ticket,
        secretary,
        ticket_id=ticket_id,
        due_at=(tickets.now - timedelta(minutes=1)).isoformat(),
        reason="x",
    )
    placed = tickets.call(use_cases.supervise_ticket, secretary, ticket_id=ticket_id, due_at=due, reason="超时未办结")
    assert placed["supervision"]["supervisor_id"] == secretary.subject
    [event] = tickets.payloads("ticket_supervised")
    assert (event["supervisor_id"], event["responsible_id"], event["reason"]) == (
        secretary.subject,
        owner.subject,
        "超时未办结",
    )
    tickets.refused(Conflict, use_cases.supervise_ticket, ADMIN, ticket_id=ticket_id, due_at=due, reason="again")

    assert tickets.tick(timers.remind_supervised) == 0, "no reminder before its working time"
    tickets.advance(hours=18, minutes=59)  # Tuesday 15:00 -> Wednesday 09:59: 3 h 59 working minutes
    assert tickets.tick(timers.remind_supervised) == 0
    tickets.advance(minutes=1)  # Wednesday 10:00: 4 working hours since it was placed
    assert tickets.tick(timers.remind_supervised) == 1
    assert tickets.tick(timers.remind_supervised) == 0, "once per interval"
    [reminder] = tickets.payloads("supervision_reminded")
    assert (reminder["reminder"], reminder["overdue"]) == (1, False)

    tickets.call(use_cases.resolve_ticket, owner, ticket_id=ticket_id, resolution="已办结")
    [lifted] = tickets.payloads("supervision_lifted")
    assert (lifted["lifted_because"], lifted["on_time"], lifted["supervisor_id"]) == (
        "resolved",
        True,
        secretary.subject,
    )
    assert tickets.row(ticket_id)["supervision_due_at"] is None
    tickets.advance(days=3)
    assert tickets.tick(timers.remind_supervised) == 0, "a lifted supervision reminds nobody"
    kinds = [line["kind"] for line in tickets.timeline(ticket_id)]
    assert kinds.count("supervised") == kinds.count("supervision_reminded") == kinds.count("supervision_lifted") == 1


def test_an_escalated_demand_can_be_supervised_by_an_administrator_and_a_merge_lifts_it(tickets, desk):
    merchant, _, owner = desk
    ticket_id = _late(tickets, merchant, owner)
    tickets.tick(timers.sweep_deadlines)
    assert tickets.row(ticket_id)["escalation_level"] == 1
    due = (tickets.now + timedelta(days=1)).isoformat()
    tickets.call(use_cases.supervise_ticket, ADMIN, ticket_id=ticket_id, due_at=due, reason="联盟督办")
    survivor = str(tickets.in_progress(merchant, owner)["id"])
    tickets.call(use_cases.merge_ticket, owner, ticket_id=ticket_id, into_id=survivor)
    [lifted] = tickets.payloads("supervision_lifted")
    assert lifted["lifted_because"] == "merged"


def test_units_are_ranked_with_their_supervision_counts(tickets, desk):
    merchant, secretary, owner = desk
    ticket_id = _late(tickets, merchant, owner)
    tickets.call(
        use_cases.supervise_ticket,
        secretary,
        ticket_id=ticket_id,
        due_at=(tickets.now + timedelta(days=1)).isoformat(),
        reason="督办",
    )
    aodele_owner = staff("aodele", tickets.person(["staff"], district="aodele"))
    tickets.resolved(tickets.merchant("aodele"), aodele_owner)
    ranking = tickets.call(queries.rank_units, ADMIN, **PERIOD)
    assert [(u["unit"], u["rank"]) for u in ranking["units"]] == [("aodele", 1), ("wholesale_city", 2)]
    wholesale = ranking["units"][1]
    assert (wholesale["supervised"], wholesale["submitted"]) == (1, 1)
    assert set(ranking["weights"]) == {"response", "on_time", "rating", "reopen", "supervision"}
    scoped = tickets.call(queries.rank_units, aodele_owner, **PERIOD)
    assert [u["unit"] for u in scoped["units"]] == ["aodele"], "a district's staff see their district's figures"


# --- duplicates ----------------------------------------------------------------------------------


def test_a_duplicate_merges_into_the_survivor_both_timelines_keep_it_and_the_merchant_is_told(tickets, desk):
    merchant, _, owner = desk
    survivor = tickets.in_progress(merchant, owner)
    duplicate = tickets.submitted(merchant)
    dup_id, survivor_id = str(duplicate["id"]), str(survivor["id"])
    tickets.refused(ValidationError, use_cases.merge_ticket, owner, ticket_id=dup_id, into_id=dup_id)
    other_shop = str(tickets.submitted(tickets.merchant())["id"])
    tickets.refused(Conflict, use_cases.merge_ticket, owner, ticket_id=dup_id, into_id=other_shop)
    tickets.refused(Forbidden, use_cases.merge_ticket, staff("aodele"), ticket_id=dup_id, into_id=survivor_id)
    tickets.refused(Forbidden, use_cases.merge_ticket, shop(merchant), ticket_id=dup_id, into_id=survivor_id)

    merged = tickets.call(use_cases.merge_ticket, owner, ticket_id=dup_id, into_id=survivor_id, reason="重复提交")
    assert (merged["status"], str(merged["merged_into"])) == (lc.CLOSED, survivor_id)
    [event] = tickets.payloads("ticket_merged")
    assert (event["survivor_reference"], event["reason"]) == (survivor["reference"], "重复提交")
    assert tickets.payloads("ticket_status_changed")[-1]["action"] == "merge"
    assert tickets.payloads("ticket_closed") == [], "a merge is not a confirmed close"
    dup_line = [line for line in tickets.timeline(dup_id) if line["kind"] == "transition"][-1]
    survivor_line = tickets.timeline(survivor_id)[-1]
    assert dup_line["visible_to_merchant"] and survivor["reference"] in dup_line["text"]
    assert (survivor_line["kind"], survivor_line["visible_to_merchant"]) == ("merged", True)
    assert duplicate["reference"] in survivor_line["text"]
    view = tickets.call(queries.get_ticket, shop(merchant), ticket_id=dup_id)
    assert str(view["merged_into"]) == survivor_id

    tickets.refused(Conflict, use_cases.merge_ticket, owner, ticket_id=dup_id, into_id=survivor_id)
    error = tickets.refused(Conflict, use_cases.reopen_ticket, ADMIN, ticket_id=dup_id, reason="误合并")
    assert "merged" in str(error)
    stats = tickets.call(queries.stats, ADMIN, **PERIOD)["total"]
    assert (stats["merged"], stats["closed"]) == (1, 0), "a merged duplicate is not counted as closed"


def test_nothing_merges_into_a_final_demand(tickets, desk):
    merchant, _, owner = desk
    cancelled = tickets.submitted(merchant)
    tickets.call(use_cases.cancel_ticket, shop(merchant), ticket_id=str(cancelled["id"]))
    duplicate = str(tickets.submitted(merchant)["id"])
    error = tickets.refused(Conflict, use_cases.merge_ticket, owner, ticket_id=duplicate, into_id=str(cancelled["id"]))
    assert "cancelled" in str(error)


# --- the custody log (帮办) ----------------------------------------------------------------------


def test_the_custody_log_follows_a_document_from_receipt_to_the_merchants_confirmation(tickets, desk):
    merchant, _, owner = desk
    ticket_id = str(tickets.in_progress(merchant, owner)["id"])  # an assisted demand
    spot = str(tickets.in_progress(merchant, owner, handling_mode="on_the_spot")["id"])
    doc = {"document": "营业执照副本", "received_from": "店主王女士", "location": "档案柜A-3"}
    tickets.refused(Conflict, use_cases.receive_document, owner, ticket_id=spot, **doc)
    tickets.refused(Forbidden, use_cases.receive_document, staff("aodele"), ticket_id=ticket_id, **doc)
    item = tickets.call(use_cases.receive_document, owner, ticket_id=ticket_id, **doc)
    item_id = str(item["id"])
    assert (item["received_by"], item["received_at"], item["location"]) == (owner.subject, tickets.now, "档案柜A-3")
    [received] = tickets.payloads("document_received")
    assert (received["item_id"], received["document"]) == (item_id, "营业执照副本")

    tickets.refused(Conflict, use_cases.confirm_document_return, shop(merchant), item_id=item_id)
    moved = tickets.call(use_cases.move_document, owner, item_id=item_id, location="窗口3号柜")
    assert moved["location"] == "窗口3号柜"
    tickets.call(use_cases.resolve_ticket, owner, ticket_id=ticket_id, resolution="已办结")
    tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=ticket_id, rating=5)
    tickets.refused(Conflict, use_cases.receive_document, owner, ticket_id=ticket_id, **doc)

    tickets.advance(days=1)  # handed back after the ticket closed: the log is still there
    returned = tickets.call(use_cases.return_document, owner, item_id=item_id, returned_to="店主王女士")
    assert (returned["returned_at"], returned["returned_by"]) == (tickets.now, owner.subject)
    tickets.refused(Conflict, use_cases.return_document, owner, item_id=item_id, returned_to="x")
    tickets.refused(Forbidden, use_cases.confirm_document_return, shop(tickets.merchant()), item_id=item_id)
    tickets.refused(Forbidden, use_cases.confirm_document_return, owner, item_id=item_id)
    confirmed = tickets.call(use_cases.confirm_document_return, shop(merchant), item_id=item_id)
    assert confirmed["confirmed_at"] == tickets.now
    tickets.refused(Conflict, use_cases.confirm_document_return, shop(merchant), item_id=item_id)

    listed = tickets.call(queries.list_documents, shop(merchant), ticket_id=ticket_id)
    assert [(d["document"], d["location"], d["returned_to"]) for d in listed] == [
        ("营业执照副本", "窗口3号柜", "店主王女士")
    ]
    view = tickets.call(queries.get_ticket, shop(merchant), ticket_id=ticket_id)
    assert [str(d["id"]) for d in view["documents"]] == [item_id]
    kinds = [line["kind"] for line in tickets.timeline(ticket_id)]
    assert [k for k in kinds if k.startswith("document_")] == [
        "document_received",
        "document_moved",
        "document_returned",
        "document_return_confirmed",
    ]
    merchant_sees = {line["kind"] for line in tickets.timeline(ticket_id) if line["visible_to_merchant"]}
    assert "document_moved" not in merchant_sees and "document_returned" in merchant_sees
    assert tickets.event_types().count("document_return_confirmed") == 1


# --- least-loaded routing ------------------------------------------------------------------------


def test_a_least_loaded_rule_proposes_the_staff_member_with_the_least_weighted_open_work(use_case):
    config = load_config("tickets")
    rules = [
        {
            "category": "other",
            "district": "*",
            "style": "team",
            "team": "service-centre",
            "assign": "least_loaded",
            "roles": ["staff"],
        },
        *config["ROUTING_RULES"],
    ]
    tickets = Tickets(use_case, Settings.from_config({**config, "ROUTING_RULES": rules}))
    merchant = tickets.merchant()
    busy, calm = tickets.person(["staff"]), tickets.person(["staff"])
    tickets.person(["staff"], district="aodele")  # not of the demand's district: never proposed
    # busy owns two same-day demands (due within hours); calm three ten-day ones.
    for _ in range(2):
        tickets.in_progress(merchant, staff(subject=busy), handling_mode="on_the_spot")
    for _ in range(3):
        tickets.in_progress(merchant, staff(subject=calm))
    routed = tickets.submitted(merchant, category="other")
    assert (routed["proposed_id"], routed["team"], routed["style"]) == (calm, None, "team")
    [assigned] = [p for p in tickets.payloads("ticket_assigned") if p["ticket_id"] == str(routed["id"])]
    assert assigned["assignee_id"] == calm


def test_reminders_past_the_supervisions_due_date_say_it_is_overdue_and_a_late_lift_is_not_on_time(tickets, desk):
    merchant, secretary, owner = desk
    ticket_id = _late(tickets, merchant, owner)  # Tuesday 15:00
    due = (tickets.now + timedelta(hours=1)).isoformat()
    tickets.call(use_cases.supervise_ticket, secretary, ticket_id=ticket_id, due_at=due, reason="限时办结")
    tickets.advance(days=1)  # Wednesday 15:00: five working hours later, past its hour
    assert tickets.tick(timers.remind_supervised) == 1
    tickets.advance(days=1)
    assert tickets.tick(timers.remind_supervised) == 1
    assert [(r["reminder"], r["overdue"]) for r in tickets.payloads("supervision_reminded")] == [(1, True), (2, True)]
    tickets.call(use_cases.cancel_ticket, shop(merchant), ticket_id=ticket_id, reason="已自行办理")
    [lifted] = tickets.payloads("supervision_lifted")
    assert (lifted["lifted_because"], lifted["on_time"]) == ("cancelled", False)
