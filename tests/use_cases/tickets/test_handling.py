"""Handling a demand: an owner by acceptance, pauses that move the promise, partners, ratings,
disputes, notes and checklists — each step allowed only to whom and when the rules say, and a
refused step leaves the ticket, its timeline and the outbox as they were."""

from datetime import datetime

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_tickets import use_cases
from alliance_tickets.domain import lifecycle as lc
from tests.use_cases.tickets.conftest import ADMIN, SETTINGS, shop, staff


@pytest.fixture
def case(tickets):
    """A merchant's submitted demand, and the staff member who will own it."""
    merchant = tickets.merchant()
    owner = staff(subject=tickets.person(["staff"]))
    return merchant, owner, str(tickets.submitted(merchant)["id"])


def test_whoever_accepts_owns_the_case_and_a_second_acceptance_is_a_conflict(tickets, case):
    merchant, owner, ticket_id = case
    accepted = tickets.call(use_cases.accept_ticket, owner, ticket_id=ticket_id)
    assert (accepted["status"], accepted["responsible_id"], accepted["accepted_at"]) == (
        lc.ACCEPTED,
        owner.subject,
        tickets.now,
    )
    assert tickets.event_types()[-2:] == ["ticket_status_changed", "ticket_assigned"]
    assert tickets.payloads("ticket_assigned")[-1]["accepted"] is True
    error = tickets.refused(Conflict, use_cases.accept_ticket, staff(), ticket_id=ticket_id)
    assert "that is accepted" in str(error)


@pytest.mark.parametrize(
    "caller",
    [staff("aodele"), staff(roles=("party_member",))],
    ids=["another-district", "no-handler-role"],
)
def test_only_a_handler_of_the_ticket_may_handle_it(tickets, case, caller):
    merchant, _, ticket_id = case
    for step in (use_cases.accept_ticket, use_cases.start_ticket):
        tickets.refused(Forbidden, step, caller, ticket_id=ticket_id)
    tickets.refused(Forbidden, use_cases.accept_ticket, shop(merchant), ticket_id=ticket_id)


def test_the_person_routing_proposed_may_take_the_case_from_another_district(tickets):
    merchant = tickets.merchant()
    lawyer = tickets.person(["volunteer"], district="aodele", skills=["法律"])
    ticket = tickets.submitted(merchant, category="rights_protection")
    assert ticket["proposed_id"] == lawyer
    accepted = tickets.call(
        use_cases.accept_ticket, staff("aodele", lawyer, ("volunteer",)), ticket_id=str(ticket["id"])
    )
    assert accepted["responsible_id"] == lawyer


def test_a_missing_ticket_is_not_found(tickets):
    tickets.refused(NotFound, use_cases.start_ticket, ADMIN, ticket_id="00000000-0000-4000-8000-000000000000")


def test_assigning_names_the_owner_with_a_reason_only_staff_see(tickets, case):
    _, owner, ticket_id = case
    colleague = tickets.person(["staff"])
    moved = tickets.call(use_cases.assign_ticket, owner, ticket_id=ticket_id, assignee_id=colleague, reason="休假")
    assert (moved["status"], moved["responsible_id"]) == (lc.ACCEPTED, colleague), "it counts as the first response"
    line = tickets.timeline(ticket_id)[-1]
    assert (line["kind"], line["text"], line["visible_to_merchant"], line["data"]) == (
        "reassignment",
        "休假",
        False,
        {"from": None, "to": colleague},
    )
    assert tickets.payloads("ticket_assigned")[-1]["reason"] == "休假"
    tickets.refused(Conflict, use_cases.assign_ticket, owner, ticket_id=ticket_id, assignee_id=colleague, reason="x")
    error = tickets.refused(
        ValidationError, use_cases.assign_ticket, owner, ticket_id=ticket_id, assignee_id="nobody", reason="x"
    )
    assert "assignee_id" in error.fields


def test_a_question_stops_the_clock_and_the_answer_moves_the_promise_by_the_time_it_stood(tickets, case):
    merchant, owner, ticket_id = case
    tickets.call(use_cases.accept_ticket, owner, ticket_id=ticket_id)
    tickets.call(use_cases.start_ticket, owner, ticket_id=ticket_id)
    asked = tickets.call(use_cases.request_info, owner, ticket_id=ticket_id, text="请补充近半年银行流水")
    assert (asked["status"], asked["sla_paused_at"]) == (lc.WAITING_ON_MERCHANT, tickets.now)
    left = SETTINGS.calendar.working_minutes(tickets.now, asked["resolution_due_at"])
    tickets.advance(days=2)
    answered = tickets.call(use_cases.provide_info, shop(merchant), ticket_id=ticket_id, text="流水已上传")
    assert answered["status"] == lc.IN_PROGRESS and answered["sla_paused_at"] is None
    assert SETTINGS.calendar.working_minutes(tickets.now, answered["resolution_due_at"]) == left
    kinds = [line["kind"] for line in tickets.timeline(ticket_id)]
    assert kinds[-4:] == ["transition", "sla_paused", "transition", "sla_resumed"]


def test_an_answer_nobody_asked_for_is_a_conflict_and_a_stranger_may_not_answer(tickets, case):
    merchant, owner, ticket_id = case
    error = tickets.refused(Conflict, use_cases.provide_info, shop(merchant), ticket_id=ticket_id, text="x")
    assert "not waiting for information" in str(error)
    tickets.call(use_cases.accept_ticket, owner, ticket_id=ticket_id)
    tickets.call(use_cases.start_ticket, owner, ticket_id=ticket_id)
    tickets.call(use_cases.request_info, owner, ticket_id=ticket_id, text="请补充材料")
    tickets.refused(Forbidden, use_cases.provide_info, shop(tickets.merchant()), ticket_id=ticket_id, text="x")


def test_a_referral_tells_the_merchant_where_the_case_went(tickets, case):
    _, owner, ticket_id = case
    tickets.call(use_cases.accept_ticket, owner, ticket_id=ticket_id)
    tickets.call(use_cases.start_ticket, owner, ticket_id=ticket_id)
    referred = tickets.call(use_cases.refer_ticket, owner, ticket_id=ticket_id, partner="德州银行", note="小微贷款")
    assert (referred["status"], referred["partner"]) == (lc.REFERRED, "德州银行")
    assert tickets.payloads("ticket_status_changed")[-1]["text"] == "转交德州银行：小微贷款"
    back = tickets.call(use_cases.record_partner_reply, owner, ticket_id=ticket_id, text="已审批30万元")
    assert (back["status"], back["partner_reply"]) == (lc.IN_PROGRESS, "已审批30万元")


def test_a_resolution_records_whether_the_promise_was_kept(tickets, case):
    merchant, owner, ticket_id = case
    tickets.call(use_cases.accept_ticket, owner, ticket_id=ticket_id)
    tickets.call(use_cases.start_ticket, owner, ticket_id=ticket_id)
    on_time = tickets.call(use_cases.resolve_ticket, owner, ticket_id=ticket_id, resolution="贷款已获批")
    assert (on_time["status"], on_time["resolved_on_time"]) == (lc.RESOLVED, True)
    late = tickets.in_progress(merchant, owner)
    tickets.advance(days=30)
    late = tickets.call(use_cases.resolve_ticket, owner, ticket_id=str(late["id"]), resolution="终于办好")
    assert late["resolved_on_time"] is False
    assert [p["on_time"] for p in tickets.payloads("ticket_resolved")] == [True, False]


def test_a_good_rating_closes_and_a_poor_one_reopens_with_a_follow_up_call_by_the_branch_secretary(tickets):
    merchant, owner = tickets.merchant(), staff()
    secretary = tickets.person(["branch_secretary"])
    good = tickets.resolved(merchant, owner)
    closed = tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=str(good["id"]), rating=5, comment="很满意")
    assert (closed["status"], closed["rating"], closed["closed_at"]) == (lc.CLOSED, 5, tickets.now)
    assert [(p["rating"], p["closed_by"]) for p in tickets.payloads("ticket_closed")] == [(5, "merchant")]

    poor = tickets.resolved(merchant, owner)
    reopened = tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=str(poor["id"]), rating=2, comment="太慢")
    assert (reopened["status"], reopened["reopen_count"], reopened["rating"]) == (lc.IN_PROGRESS, 1, 2)
    assert [p["rating"] for p in tickets.payloads("feedback_received")] == [5, 2]
    assert tickets.payloads("ticket_reopened")[-1]["reason"] == "满意度评分2分：太慢"
    call = tickets.timeline(poor["id"])[-1]
    assert (call["kind"], call["actor"], call["visible_to_merchant"], call["data"]["call_by"]) == (
        "follow_up_call",
        "system:tickets",
        False,
        secretary,
    )
    # (the good rating's close may be drawn by the follow-up sample too: test_follow_up.py)
    [scheduled] = [p for p in tickets.payloads("follow_up_call_scheduled") if p["reason"] == "poor_rating"]
    assert scheduled["call_by_id"] == secretary and scheduled["rating"] == 2


def test_only_the_merchant_closes_and_only_a_resolved_ticket(tickets, case):
    merchant, owner, ticket_id = case
    tickets.refused(Conflict, use_cases.close_ticket, shop(merchant), ticket_id=ticket_id, rating=5)
    resolved = str(tickets.resolved(merchant, owner)["id"])
    tickets.refused(Forbidden, use_cases.close_ticket, owner, ticket_id=resolved, rating=5)
    tickets.refused(Forbidden, use_cases.close_ticket, shop(tickets.merchant()), ticket_id=resolved, rating=5)


def test_a_dispute_reopens_within_seven_days_of_the_resolution_and_an_administrator_any_time(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.resolved(merchant, owner)["id"])
    tickets.advance(days=lc.REOPEN_WINDOW_DAYS)
    disputed = tickets.call(use_cases.reopen_ticket, shop(merchant), ticket_id=ticket_id, reason="额度不对")
    assert (disputed["status"], disputed["reopen_count"]) == (lc.IN_PROGRESS, 1)
    tickets.call(use_cases.resolve_ticket, owner, ticket_id=ticket_id, resolution="重新办理")
    tickets.advance(days=lc.REOPEN_WINDOW_DAYS, seconds=1)
    error = tickets.refused(Conflict, use_cases.reopen_ticket, shop(merchant), ticket_id=ticket_id, reason="太晚了")
    assert "more than 7 days" in str(error)
    tickets.refused(Forbidden, use_cases.reopen_ticket, owner, ticket_id=ticket_id, reason="员工不能申诉")
    assert tickets.call(use_cases.reopen_ticket, ADMIN, ticket_id=ticket_id, reason="复核")["reopen_count"] == 2
    assert [p["reopen_count"] for p in tickets.payloads("ticket_reopened")] == [1, 2]


def test_the_merchant_cancels_while_the_case_is_open_and_staff_reject_only_before_work_starts(tickets, case):
    merchant, owner, ticket_id = case
    tickets.refused(Forbidden, use_cases.cancel_ticket, owner, ticket_id=ticket_id)
    started = str(tickets.in_progress(merchant, owner)["id"])
    tickets.refused(Conflict, use_cases.reject_ticket, owner, ticket_id=started, reason="不属于服务范围")
    assert tickets.call(use_cases.cancel_ticket, shop(merchant), ticket_id=ticket_id)["status"] == lc.CANCELLED
    resolved = str(tickets.resolved(merchant, owner)["id"])
    tickets.refused(Conflict, use_cases.cancel_ticket, shop(merchant), ticket_id=resolved)
    rejected = tickets.call(
        use_cases.reject_ticket, owner, ticket_id=str(tickets.submitted(merchant)["id"]), reason="重复"
    )
    assert rejected["status"] == lc.REJECTED


def test_a_merchants_note_is_always_visible_a_handlers_only_if_said_and_a_final_ticket_takes_none(tickets, case):
    merchant, owner, ticket_id = case
    tickets.call(use_cases.add_note, shop(merchant), ticket_id=ticket_id, text="下午有空", visible_to_merchant=False)
    tickets.call(use_cases.add_note, owner, ticket_id=ticket_id, text="内部：客户征信一般")
    tickets.call(use_cases.add_note, owner, ticket_id=ticket_id, text="已电话联系", visible_to_merchant=True)
    notes = [(n["text"], n["visible_to_merchant"]) for n in tickets.timeline(ticket_id) if n["kind"] == "note"]
    assert notes == [("下午有空", True), ("内部：客户征信一般", False), ("已电话联系", True)]
    tickets.refused(Forbidden, use_cases.add_note, staff("aodele"), ticket_id=ticket_id, text="x")
    tickets.call(use_cases.cancel_ticket, shop(merchant), ticket_id=ticket_id)
    error = tickets.refused(Conflict, use_cases.add_note, shop(merchant), ticket_id=ticket_id, text="还在吗")
    assert "no more notes" in str(error)


def test_a_checklist_is_ticked_item_by_item_until_the_ticket_is_resolved(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.in_progress(merchant, owner, category="government_affairs")["id"])
    ticked = tickets.call(use_cases.tick_checklist_item, owner, ticket_id=ticket_id, item_id=2)
    assert [i["done"] for i in ticked["checklist"]] == [False, True, False]
    assert tickets.timeline(ticket_id)[-1]["text"] == "填写申请表"
    error = tickets.refused(ValidationError, use_cases.tick_checklist_item, owner, ticket_id=ticket_id, item_id=99)
    assert "item_id" in error.fields
    tickets.call(use_cases.resolve_ticket, owner, ticket_id=ticket_id, resolution="已代为递交")
    tickets.refused(Conflict, use_cases.tick_checklist_item, owner, ticket_id=ticket_id, item_id=1)


def test_every_transition_is_announced_with_the_text_the_merchant_is_told(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.in_progress(merchant, owner)["id"])
    tickets.call(use_cases.request_info, owner, ticket_id=ticket_id, text="请补充材料")
    changes = [
        (p["from_status"], p["to_status"], p["action"], p["text"]) for p in tickets.payloads("ticket_status_changed")
    ]
    assert changes == [
        ("submitted", "accepted", "accept", None),
        ("accepted", "in_progress", "start", None),
        ("in_progress", "waiting_on_merchant", "request_info", "请补充材料"),
    ]
    assert all(p["changed_at"] for p in tickets.payloads("ticket_status_changed"))
    transitions = [line for line in tickets.timeline(ticket_id) if line["kind"] == "transition"]
    assert [line["actor"] for line in transitions] == [f"staff:{owner.subject}"] * 3


def test_time_moves_only_with_the_clock_the_use_case_is_given(tickets):
    merchant = tickets.merchant()
    tickets.advance(days=30)
    ticket = tickets.submitted(merchant)
    assert ticket["submitted_at"] == tickets.now
    assert tickets.timeline(ticket["id"])[0]["at"] == tickets.now
    assert datetime.fromisoformat(tickets.payloads("ticket_submitted")[0]["submitted_at"]) == tickets.now
