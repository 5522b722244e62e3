"""A demand's life over the real broker: owners, pauses, partners, ratings, disputes, illegal steps."""

from datetime import datetime, timedelta

import eventlet
import pytest

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.integration.tickets.conftest import START, demand


@pytest.fixture
def case(tickets):
    """A submitted demand of a Wholesale City merchant, its owner-to-be and the merchant's client."""
    merchant = tickets.seed_merchant()
    owner = tickets.seed_person(["staff"])
    with tickets.merchant(merchant) as alliance:
        ticket = alliance.tickets.submit_ticket(**demand(merchant))
    return merchant, owner, ticket["ticket_id"]


def test_from_submission_to_a_rated_close(tickets, case):
    merchant, owner, ticket_id = case
    with tickets.staff(person_id=owner) as staff, tickets.merchant(merchant) as shop:
        accepted = staff.tickets.accept_ticket(ticket_id=ticket_id)
        assert (accepted["status"], accepted["responsible_id"]) == ("accepted", owner)
        staff.tickets.start_ticket(ticket_id=ticket_id)
        staff.tickets.add_note(ticket_id=ticket_id, text="内部：客户征信一般")
        waiting = staff.tickets.request_info(ticket_id=ticket_id, text="请补充近半年银行流水")
        view = shop.tickets.get_ticket(ticket_id=ticket_id)
        assert (view["status"], view["paused_because"]) == ("waiting_on_merchant", "请补充近半年银行流水")
        assert view["responsible"]["person_id"] == owner
        tickets.time.advance(days=2)  # two working days pass while the merchant gathers the papers
        resumed = shop.tickets.provide_info(ticket_id=ticket_id, text="流水已上传")
        assert resumed["resolution_due_at"] > waiting["resolution_due_at"], "the pause moved the promise"
        staff.tickets.refer_ticket(ticket_id=ticket_id, partner="德州银行", note="小微贷款")
        staff.tickets.record_partner_reply(ticket_id=ticket_id, text="已审批30万元")
        staff.tickets.resolve_ticket(ticket_id=ticket_id, resolution="贷款已获批")
        closed = shop.tickets.close_ticket(ticket_id=ticket_id, rating=5, comment="很满意")
        merchant_timeline = shop.tickets.timeline(ticket_id=ticket_id)
        staff_timeline = staff.tickets.timeline(ticket_id=ticket_id)
    assert closed["status"] == "closed"
    steps = [(e["from_status"], e["to_status"]) for e in staff_timeline if e["kind"] == "transition"]
    assert steps == [
        ("submitted", "accepted"),
        ("accepted", "in_progress"),
        ("in_progress", "waiting_on_merchant"),
        ("waiting_on_merchant", "in_progress"),
        ("in_progress", "referred"),
        ("referred", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]
    assert any(e["text"] == "内部：客户征信一般" for e in staff_timeline)
    assert all(e["text"] != "内部：客户征信一般" for e in merchant_timeline), "internal notes never reach the merchant"
    assert {e["kind"] for e in staff_timeline} >= {"sla_paused", "sla_resumed", "note", "submitted"}
    assert all(e["actor"] for e in staff_timeline)
    assert [e["payload"]["rating"] for e in tickets.published("feedback_received")] == [5]
    assert [e["payload"]["closed_by"] for e in tickets.published("ticket_closed")] == ["merchant"]


def test_an_illegal_step_is_a_conflict_and_changes_nothing(tickets, case):
    merchant, owner, ticket_id = case
    events_before = len(tickets.published())
    with tickets.staff(person_id=owner) as staff, tickets.merchant(merchant) as shop:
        with pytest.raises(Conflict, match="cannot resolve a ticket that is submitted"):
            staff.tickets.resolve_ticket(ticket_id=ticket_id, resolution="x")
        with pytest.raises(Conflict):
            shop.tickets.close_ticket(ticket_id=ticket_id, rating=5)
        assert shop.tickets.get_ticket(ticket_id=ticket_id)["status"] == "submitted"
    assert len(tickets.published()) == events_before
    assert [e["kind"] for e in tickets.timeline(ticket_id)] == ["submitted"]


def test_an_answer_to_a_ticket_that_asked_nothing_is_a_conflict(tickets, case):
    merchant, owner, ticket_id = case
    with tickets.staff(person_id=owner) as staff, tickets.merchant(merchant) as shop:
        for step in (None, staff.tickets.accept_ticket, staff.tickets.start_ticket):
            if step:
                step(ticket_id=ticket_id)
            before = shop.tickets.get_ticket(ticket_id=ticket_id)
            with pytest.raises(Conflict, match="not waiting for information"):
                shop.tickets.provide_info(ticket_id=ticket_id, text="流水已上传")
            assert shop.tickets.get_ticket(ticket_id=ticket_id) == before
    assert not any(e["kind"] == "sla_resumed" for e in tickets.timeline(ticket_id))


def test_two_staff_accepting_at_once_exactly_one_wins(tickets, case):
    _, _, ticket_id = case
    first, second = tickets.seed_person(["staff"]), tickets.seed_person(["staff"])

    def accept(person):
        with tickets.staff(person_id=person) as staff:
            try:
                return staff.tickets.accept_ticket(ticket_id=ticket_id)["responsible_id"]
            except Conflict:
                return "conflict"

    outcomes = sorted(eventlet.GreenPool().imap(accept, [first, second]))
    assert outcomes.count("conflict") == 1 and set(outcomes) - {"conflict"} <= {first, second}
    accepted = [e for e in tickets.published("ticket_assigned") if e["payload"]["accepted"]]
    assert len(accepted) == 1


def test_a_poor_rating_or_a_dispute_reopens_within_seven_days(tickets, case):
    merchant, owner, ticket_id = case
    with tickets.staff(person_id=owner) as staff, tickets.merchant(merchant) as shop:
        staff.tickets.accept_ticket(ticket_id=ticket_id)
        staff.tickets.start_ticket(ticket_id=ticket_id)
        staff.tickets.resolve_ticket(ticket_id=ticket_id, resolution="已办理")
        reopened = shop.tickets.close_ticket(ticket_id=ticket_id, rating=2, comment="没解决问题")
        assert reopened["status"] == "in_progress"
        staff.tickets.resolve_ticket(ticket_id=ticket_id, resolution="重新办理")
        assert shop.tickets.reopen_ticket(ticket_id=ticket_id, reason="额度不对")["status"] == "in_progress"
        staff.tickets.resolve_ticket(ticket_id=ticket_id, resolution="第三次")
        tickets.time.advance(days=8)
        with pytest.raises(Conflict, match="more than 7 days"):
            shop.tickets.reopen_ticket(ticket_id=ticket_id, reason="太晚了")
    assert [e["payload"]["reopen_count"] for e in tickets.published("ticket_reopened")] == [1, 2]


def test_reasons_are_required_and_roles_enforced(tickets, case):
    merchant, owner, ticket_id = case
    with tickets.staff(person_id=owner) as staff:
        with pytest.raises(ValidationError):
            staff.tickets.reject_ticket(ticket_id=ticket_id, reason="")
        with pytest.raises(ValidationError):
            staff.tickets.assign_ticket(ticket_id=ticket_id, assignee_id=owner, reason="")
        with pytest.raises(Forbidden):
            staff.tickets.cancel_ticket(ticket_id=ticket_id)  # the merchant's decision, not staff's
    with tickets.staff(district="aodele") as elsewhere:
        with pytest.raises(Forbidden):
            elsewhere.tickets.accept_ticket(ticket_id=ticket_id)
        with pytest.raises(Forbidden):
            elsewhere.tickets.get_ticket(ticket_id=ticket_id)
    with tickets.merchant(tickets.seed_merchant()) as another_shop:
        with pytest.raises(Forbidden):
            another_shop.tickets.get_ticket(ticket_id=ticket_id)
        with pytest.raises(Forbidden):
            another_shop.tickets.accept_ticket(ticket_id=ticket_id)
    with tickets.merchant(merchant) as shop:
        assert shop.tickets.cancel_ticket(ticket_id=ticket_id, reason="已自行解决")["status"] == "cancelled"
        with pytest.raises(Conflict, match="no more notes"):
            shop.tickets.add_note(ticket_id=ticket_id, text="还在吗")


def test_reassignment_records_why_and_checklists_are_ticked(tickets):
    merchant = tickets.seed_merchant()
    first, second = tickets.seed_person(["staff"]), tickets.seed_person(["staff"])
    with tickets.staff(person_id=first) as staff:
        ticket = staff.tickets.submit_ticket(**demand(merchant, category="government_affairs"))
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        moved = staff.tickets.assign_ticket(ticket_id=ticket["ticket_id"], assignee_id=second, reason="休假")
        ticked = staff.tickets.tick_checklist_item(ticket_id=ticket["ticket_id"], item_id=1)
        with pytest.raises(ValidationError):
            staff.tickets.tick_checklist_item(ticket_id=ticket["ticket_id"], item_id=99)
        with pytest.raises(ValidationError, match="unknown person"):
            staff.tickets.assign_ticket(ticket_id=ticket["ticket_id"], assignee_id="nobody", reason="x")
    assert moved["responsible_id"] == second
    assert [i["done"] for i in ticked["checklist"]] == [True, False, False]
    reassignment = [e for e in tickets.timeline(ticket["ticket_id"]) if e["kind"] == "reassignment"][0]
    assert reassignment["text"] == "休假" and reassignment["data"] == {"from": first, "to": second}
    assert not reassignment["visible_to_merchant"]


def test_deadlines_follow_the_service_clock_not_the_wall_clock(tickets):
    tickets.time.advance(days=30)
    merchant = tickets.seed_merchant()
    with tickets.merchant(merchant) as shop:
        ticket = shop.tickets.get_ticket(ticket_id=shop.tickets.submit_ticket(**demand(merchant))["ticket_id"])
    submitted = datetime.fromisoformat(ticket["submitted_at"])
    assert timedelta(days=30) <= submitted - START < timedelta(days=30, minutes=5)
