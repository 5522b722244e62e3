"""The demand desk's follow-up practice over the real broker: follow-up calls recorded and counted
("closed" is not "solved"), duplicates merged, supervision reminded by the service's own timer,
units ranked, and the custody log the merchant confirms — each method's roles at the door."""

from datetime import timedelta

import pytest

from alliance_platform.errors import Conflict, Forbidden
from tests.integration.tickets.conftest import START, TicketsHarness, demand

PERIOD = {"since": (START - timedelta(days=1)).isoformat(), "until": (START + timedelta(days=60)).isoformat()}


@pytest.fixture
def desk(service_harness):
    """The tickets service with every closed demand called back (FOLLOW_UP_SAMPLE_SHARE 1) and its
    timers every 50 ms; a merchant, the district's branch secretary and a handler."""
    started = service_harness(
        "tickets", START, SLA_SWEEP_INTERVAL=0.05, SUPERVISION_SWEEP_INTERVAL=0.05, FOLLOW_UP_SAMPLE_SHARE=1.0
    )
    tickets = TicketsHarness(started.container, started.time, started.tokens, started.client, started.extras)
    return tickets, tickets.seed_merchant(), tickets.seed_person(["branch_secretary"]), tickets.seed_person(["staff"])


def _resolved(tickets, merchant, owner, **overrides):
    with tickets.merchant(merchant) as shop, tickets.staff(person_id=owner) as staff:
        ticket = shop.tickets.submit_ticket(**demand(merchant, **overrides))
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.start_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="已办结")
    return ticket


def test_closed_demands_are_called_back_and_the_figures_say_which_are_solved(desk):
    tickets, merchant, secretary, owner = desk
    solved, unsolved = (_resolved(tickets, merchant, owner) for _ in range(2))
    with tickets.merchant(merchant) as shop:
        for ticket in (solved, unsolved):
            shop.tickets.close_ticket(ticket_id=ticket["ticket_id"], rating=4)
        with pytest.raises(Forbidden):
            shop.tickets.record_follow_up(ticket_id=solved["ticket_id"], outcome="solved")
    scheduled = tickets.payloads("follow_up_call_scheduled")
    assert [(p["reason"], p["call_by_id"]) for p in scheduled] == [("sample", secretary)] * 2
    with tickets.staff(roles=("branch_secretary",), person_id=secretary) as leader:
        recorded = leader.tickets.record_follow_up(ticket_id=solved["ticket_id"], outcome="solved", note="已放款")
        leader.tickets.record_follow_up(ticket_id=unsolved["ticket_id"], outcome="not_solved")
        with pytest.raises(Conflict):
            leader.tickets.record_follow_up(ticket_id=solved["ticket_id"], outcome="unreachable")
        figures = leader.tickets.stats(**PERIOD)
        view = leader.tickets.get_ticket(ticket_id=solved["ticket_id"])
    assert (recorded["outcome"], recorded["follow_up_id"]) == ("solved", scheduled[0]["follow_up_id"])
    unit = figures["by_unit"]["wholesale_city"]
    assert (unit["closed"], unit["followed_up"], unit["solved"], unit["not_solved"], unit["solved_rate"]) == (
        2,
        2,
        1,
        1,
        0.5,
    )
    assert [(f["reason"], f["outcome"], f["note"]) for f in view["follow_ups"]] == [("sample", "solved", "已放款")]
    assert [p["outcome"] for p in tickets.payloads("follow_up_call_recorded")] == ["solved", "not_solved"]


def test_a_duplicate_is_merged_into_the_survivor_and_the_merchant_follows_it(desk):
    tickets, merchant, _, owner = desk
    with tickets.merchant(merchant) as shop, tickets.staff(person_id=owner) as staff:
        survivor = shop.tickets.submit_ticket(**demand(merchant))
        duplicate = shop.tickets.submit_ticket(**demand(merchant))
        with pytest.raises(Forbidden):
            shop.tickets.merge_ticket(ticket_id=duplicate["ticket_id"], into_id=survivor["ticket_id"])
        merged = staff.tickets.merge_ticket(
            ticket_id=duplicate["ticket_id"], into_id=survivor["ticket_id"], reason="重复提交"
        )
        seen = shop.tickets.get_ticket(ticket_id=duplicate["ticket_id"])
        survivor_timeline = shop.tickets.timeline(ticket_id=survivor["ticket_id"])
        duplicate_timeline = shop.tickets.timeline(ticket_id=duplicate["ticket_id"])
    assert merged == {
        "ticket_id": duplicate["ticket_id"],
        "reference": duplicate["reference"],
        "status": "closed",
        "merged_into": survivor["ticket_id"],
    }
    assert (seen["status"], seen["merged_into"]) == ("closed", survivor["ticket_id"])
    assert any(e["kind"] == "merged" and duplicate["reference"] in e["text"] for e in survivor_timeline)
    assert any(e["to_status"] == "closed" and survivor["reference"] in e["text"] for e in duplicate_timeline)
    [event] = tickets.payloads("ticket_merged")
    assert (event["ticket_id"], event["survivor_reference"]) == (duplicate["ticket_id"], survivor["reference"])


def test_a_supervised_demand_is_reminded_by_the_timer_in_working_time_and_lifted_when_resolved(desk):
    tickets, merchant, secretary, owner = desk
    with tickets.merchant(merchant) as shop, tickets.staff(person_id=owner) as staff:
        ticket = shop.tickets.submit_ticket(**demand(merchant, category="other", handling_mode="on_the_spot"))
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.start_ticket(ticket_id=ticket["ticket_id"])
    tickets.time.advance(hours=5)  # Tuesday 15:00: the four working hours have passed
    due = (START + timedelta(days=2)).isoformat()
    with tickets.staff(person_id=owner) as staff, pytest.raises(Forbidden):
        staff.tickets.supervise_ticket(ticket_id=ticket["ticket_id"], due_at=due, reason="督办")
    with tickets.staff(roles=("branch_secretary",), person_id=secretary) as leader:
        placed = leader.tickets.supervise_ticket(ticket_id=ticket["ticket_id"], due_at=due, reason="超时未办结")
    assert (placed["supervision"]["supervisor_id"], placed["supervision"]["reminders_sent"]) == (secretary, 0)
    assert tickets.payloads("ticket_supervised")[0]["responsible_id"] == owner

    tickets.time.advance(hours=19)  # Wednesday 10:00: four working hours since it was placed
    [reminder] = tickets.wait_published("supervision_reminded", timeout=30)
    assert (reminder["reminder"], reminder["overdue"], reminder["responsible_id"]) == (1, False, owner)
    with tickets.staff(person_id=owner) as staff:
        staff.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="已办结")
        view = staff.tickets.get_ticket(ticket_id=ticket["ticket_id"])
        ranking = staff.tickets.rank_units(**PERIOD)
    [lifted] = tickets.payloads("supervision_lifted")
    assert (lifted["lifted_because"], lifted["on_time"]) == ("resolved", True)
    [supervision] = view["supervisions"]
    assert (supervision["lifted_because"], supervision["reminders_sent"] >= 1) == ("resolved", True)
    [unit] = ranking["units"]
    assert (unit["unit"], unit["supervised"], unit["rank"]) == ("wholesale_city", 1, 1)


def test_the_custody_log_is_kept_past_the_close_and_the_merchant_confirms_the_return(desk):
    tickets, merchant, _, owner = desk
    with tickets.merchant(merchant) as shop, tickets.staff(person_id=owner) as staff:
        ticket = shop.tickets.submit_ticket(**demand(merchant, category="government_affairs"))
        staff.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        staff.tickets.start_ticket(ticket_id=ticket["ticket_id"])
        item = staff.tickets.receive_document(
            ticket_id=ticket["ticket_id"], document="营业执照正本", received_from="店主", location="档案柜B-1"
        )
        with pytest.raises(Forbidden):
            shop.tickets.receive_document(ticket_id=ticket["ticket_id"], document="x", received_from="x", location="x")
        staff.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="营业执照变更已办结")
        shop.tickets.close_ticket(ticket_id=ticket["ticket_id"], rating=5)
        returned = staff.tickets.return_document(item_id=item["item_id"], returned_to="店主")
        with pytest.raises(Forbidden):
            staff.tickets.confirm_document_return(item_id=item["item_id"])
        confirmed = shop.tickets.confirm_document_return(item_id=item["item_id"])
        listed = shop.tickets.list_documents(ticket_id=ticket["ticket_id"])
        view = shop.tickets.get_ticket(ticket_id=ticket["ticket_id"])
    assert (item["state"], returned["state"], confirmed["state"]) == ("held", "returned", "confirmed")
    assert [(d["document"], d["location"], d["returned_to"], d["state"]) for d in listed] == [
        ("营业执照正本", "档案柜B-1", "店主", "confirmed")
    ]
    assert view["status"] == "closed" and [d["item_id"] for d in view["documents"]] == [item["item_id"]]
    assert [p["document"] for p in tickets.payloads("document_returned")] == ["营业执照正本"]
    assert len(tickets.payloads("document_return_confirmed")) == 1
