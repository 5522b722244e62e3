"""The SLA sweep as the timer runs it (nobody calls): warnings once, escalation once per level, and
a resolution nobody confirmed closed by the same lifecycle step as a merchant's close."""

from datetime import datetime, timedelta

from alliance_tickets import timers, use_cases
from alliance_tickets.domain import lifecycle as lc
from tests.use_cases.tickets.conftest import shop, staff

NOTHING = {"due_soon": 0, "overdue": 0, "escalated": 0, "auto_closed": 0}


def test_missed_deadlines_are_announced_and_escalated_once_each(tickets):
    merchant = tickets.merchant()
    secretary = tickets.person(["branch_secretary"])
    ticket = tickets.submitted(merchant, handling_mode="on_the_spot")  # 30 min to respond, 4 h to resolve
    tickets.advance(days=7)
    assert tickets.tick(timers.sweep_deadlines) == {**NOTHING, "overdue": 2, "escalated": 2}
    assert tickets.tick(timers.sweep_deadlines) == NOTHING, "a second sweep sends nothing again"

    assert sorted(p["target"] for p in tickets.payloads("ticket_overdue")) == ["first_response", "resolution"]
    escalations = tickets.payloads("ticket_escalated")
    assert [(e["level"], e["escalated_to"], e["escalated_to_id"]) for e in escalations] == [
        (1, "branch_secretary", secretary),
        (2, "alliance", None),
    ]
    assert {datetime.fromisoformat(e["due_at"]) for e in escalations} == {ticket["first_response_due_at"]}
    lines = [line for line in tickets.timeline(ticket["id"]) if line["kind"] == "escalated"]
    assert [(line["actor"], line["text"], line["visible_to_merchant"], line["data"]) for line in lines] == [
        ("system:tickets", "上报商圈党支部书记", False, {"level": 1}),
        ("system:tickets", "上报联盟", False, {"level": 2}),
    ]
    row = tickets.row(ticket["id"])
    assert (sorted(row["overdue_sent"]), row["escalation_level"]) == (["first_response", "resolution"], 2)


def test_a_deadline_near_in_working_time_is_announced_once(tickets):
    merchant = tickets.merchant()
    ticket = tickets.submitted(merchant)
    tickets.call(use_cases.accept_ticket, staff(), ticket_id=str(ticket["id"]))
    assert tickets.tick(timers.sweep_deadlines) == NOTHING
    tickets.now = ticket["resolution_due_at"] - timedelta(minutes=30)  # within the 60 working minutes
    assert tickets.tick(timers.sweep_deadlines) == {**NOTHING, "due_soon": 1}
    assert tickets.tick(timers.sweep_deadlines) == NOTHING
    assert [p["target"] for p in tickets.payloads("ticket_due_soon")] == ["resolution"]


def test_a_ticket_waiting_on_the_merchant_is_not_swept(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.in_progress(merchant, owner, handling_mode="on_the_spot")["id"])
    tickets.call(use_cases.request_info, owner, ticket_id=ticket_id, text="请提供营业执照")
    tickets.advance(days=10)
    assert tickets.tick(timers.sweep_deadlines) == NOTHING


def test_an_unconfirmed_resolution_closes_after_seven_days_as_a_close_does(tickets):
    merchant, owner = tickets.merchant(), staff()
    quiet = tickets.resolved(merchant, owner)
    confirmed = tickets.resolved(merchant, owner)
    tickets.call(use_cases.close_ticket, shop(merchant), ticket_id=str(confirmed["id"]), rating=4)
    tickets.advance(days=lc.AUTO_CLOSE_DAYS - 1)
    assert tickets.tick(timers.sweep_deadlines)["auto_closed"] == 0
    tickets.advance(days=1)
    assert tickets.tick(timers.sweep_deadlines)["auto_closed"] == 1
    assert tickets.tick(timers.sweep_deadlines)["auto_closed"] == 0

    row = tickets.row(quiet["id"])
    assert (row["status"], row["closed_at"]) == (lc.CLOSED, tickets.now)
    # the closing transition (a follow-up call may follow it: the configured share draws by the id)
    line = [line for line in tickets.timeline(quiet["id"]) if line["kind"] == "transition"][-1]
    assert (line["kind"], line["from_status"], line["to_status"], line["actor"], line["visible_to_merchant"]) == (
        "transition",
        "resolved",
        "closed",
        "system:tickets",
        True,
    )
    assert line["text"] == "7天内未确认，自动办结"
    changed = tickets.payloads("ticket_status_changed")[-1]
    assert (changed["ticket_id"], changed["action"], changed["to_status"], changed["text"]) == (
        str(quiet["id"]),
        "close",
        "closed",
        "7天内未确认，自动办结",
    )
    assert [(p["ticket_id"], p["closed_by"], p["rating"]) for p in tickets.payloads("ticket_closed")] == [
        (str(confirmed["id"]), "merchant", 4),
        (str(quiet["id"]), "auto", None),
    ]


def test_a_reopened_case_is_not_closed_by_time(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.resolved(merchant, owner)["id"])
    tickets.call(use_cases.reopen_ticket, shop(merchant), ticket_id=ticket_id, reason="没解决")
    tickets.advance(days=lc.AUTO_CLOSE_DAYS + 1)
    tickets.tick(timers.sweep_deadlines)
    assert tickets.row(ticket_id)["status"] == lc.IN_PROGRESS
