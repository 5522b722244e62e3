"""SLA deadlines over time the test controls: warnings once, escalation once per level, auto-close."""

from datetime import datetime

from nameko.testing.services import entrypoint_waiter

from alliance_platform.clock import Clock
from tests.integration.tickets.conftest import demand


def sweep(tickets, runs=2):
    """Wait until the service's sweep timer (every 50 ms in tests) has run ``runs`` more times."""
    for _ in range(runs):
        with entrypoint_waiter(tickets.container, "sweep_deadlines"):
            pass


def test_due_soon_then_overdue_then_escalated_to_the_branch_then_the_alliance_once_each(tickets):
    merchant = tickets.seed_merchant()
    secretary = tickets.seed_person(["branch_secretary"])
    with tickets.merchant(merchant) as shop:
        ticket = shop.tickets.submit_ticket(**demand(merchant, handling_mode="on_the_spot"))  # 30 min / 4 h
    reference = ticket["reference"]

    tickets.time.advance(days=7)  # a week later both deadlines have long passed
    sweep(tickets, runs=5)

    overdue = [e["payload"] for e in tickets.published("ticket_overdue")]
    assert sorted(p["target"] for p in overdue) == ["first_response", "resolution"]
    escalations = [e["payload"] for e in tickets.published("ticket_escalated")]
    assert [(e["level"], e["escalated_to"]) for e in escalations] == [(1, "branch_secretary"), (2, "alliance")]
    assert escalations[0]["escalated_to_id"] == secretary and escalations[0]["reference"] == reference
    assert [e["kind"] for e in tickets.timeline(ticket["ticket_id"])].count("escalated") == 2


def test_a_deadline_near_in_working_time_is_announced_once(tickets):
    merchant = tickets.seed_merchant()
    with tickets.merchant(merchant) as shop:
        ticket = shop.tickets.submit_ticket(**demand(merchant))  # assisted: 4 h to respond, 5 days to resolve
    with tickets.staff() as staff:
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        due = staff.tickets.get_ticket(ticket_id=ticket["ticket_id"])["promised_by"]
    sweep(tickets)
    assert tickets.published("ticket_due_soon") == []
    # Move to 30 minutes before the promise: within the 60 working minutes of "due soon".
    minutes_left = (datetime.fromisoformat(due) - Clock(tickets.time.path).now()).total_seconds() / 60
    tickets.time.advance(minutes=minutes_left - 30)
    sweep(tickets)
    sweep(tickets)
    assert [e["payload"]["target"] for e in tickets.published("ticket_due_soon")] == ["resolution"]


def test_a_paused_ticket_does_not_go_overdue(tickets):
    merchant = tickets.seed_merchant()
    with tickets.merchant(merchant) as shop, tickets.staff() as staff:
        ticket = shop.tickets.submit_ticket(**demand(merchant, handling_mode="on_the_spot"))
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.start_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.request_info(ticket_id=ticket["ticket_id"], text="请提供营业执照")
    tickets.time.advance(days=10)
    sweep(tickets)
    assert tickets.published("ticket_overdue") == [] and tickets.published("ticket_escalated") == []


def test_a_resolved_ticket_nobody_confirms_closes_itself_after_seven_days(tickets):
    merchant = tickets.seed_merchant()
    with tickets.merchant(merchant) as shop, tickets.staff() as staff:
        ticket = shop.tickets.submit_ticket(**demand(merchant))
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.start_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="已办结")
        tickets.time.advance(days=6)
        sweep(tickets)
        assert shop.tickets.get_ticket(ticket_id=ticket["ticket_id"])["status"] == "resolved"
        tickets.time.advance(days=2)
        sweep(tickets)
        assert shop.tickets.get_ticket(ticket_id=ticket["ticket_id"])["status"] == "closed"
    assert [e["payload"]["closed_by"] for e in tickets.published("ticket_closed")] == ["auto"]
