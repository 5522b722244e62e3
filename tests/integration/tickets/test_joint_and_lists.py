"""Joint handling across districts, lists for each kind of caller, and the figures for ranking."""

from datetime import timedelta

import pytest

from alliance_platform.errors import Conflict, ValidationError
from tests.integration.tickets.conftest import START, demand


def test_a_parent_waits_for_its_tasks_and_a_refusal_goes_back_to_its_owner_with_the_reason(tickets):
    merchant = tickets.seed_merchant()
    tickets.seed_merchant(district="aodele")  # Aodele is a district the directory knows
    owner, aodele_staff = tickets.seed_person(["staff"]), tickets.seed_person(["staff"], district="aodele")
    with tickets.staff(person_id=owner) as staff, tickets.staff(district="aodele", person_id=aodele_staff) as other:
        parent = staff.tickets.submit_ticket(**demand(merchant, category="rights_protection"))
        staff.tickets.accept_ticket(ticket_id=parent["ticket_id"])
        staff.tickets.start_ticket(ticket_id=parent["ticket_id"])
        to_aodele = staff.tickets.add_child_task(
            parent_id=parent["ticket_id"], unit="aodele", title="核实澳德乐同款商品价格", description="比价"
        )
        to_bank = staff.tickets.add_child_task(
            parent_id=parent["ticket_id"], unit="bank-liaisons", title="核实交易流水", description="流水"
        )
        with pytest.raises(Conflict, match="2 open child task"):
            staff.tickets.resolve_ticket(ticket_id=parent["ticket_id"], resolution="x")
        with pytest.raises(ValidationError):
            other.tickets.refuse_task(ticket_id=to_aodele["ticket_id"], reason="")
        other.tickets.refuse_task(ticket_id=to_aodele["ticket_id"], reason="该商品不在本商圈销售")
        staff.tickets.accept_ticket(ticket_id=to_bank["ticket_id"])
        staff.tickets.start_ticket(ticket_id=to_bank["ticket_id"])
        staff.tickets.resolve_ticket(ticket_id=to_bank["ticket_id"], resolution="流水无异常")
        resolved = staff.tickets.resolve_ticket(ticket_id=parent["ticket_id"], resolution="维权成功")
        view = staff.tickets.get_ticket(ticket_id=parent["ticket_id"])
        with pytest.raises(Conflict, match="not a task"):
            staff.tickets.refuse_task(ticket_id=parent["ticket_id"], reason="x")
    assert resolved["status"] == "resolved"
    assert {c["unit"]: c["status"] for c in view["children"]} == {"aodele": "rejected", "bank-liaisons": "resolved"}
    refusal = tickets.published("task_refused")[0]["payload"]
    assert (refusal["parent_responsible_id"], refusal["reason"], refusal["unit"]) == (
        owner,
        "该商品不在本商圈销售",
        "aodele",
    )
    assert refusal["parent_reference"] == parent["reference"]


def test_lists_are_scoped_to_the_caller_and_page_with_a_stable_cursor(tickets):
    shop_a, shop_b = tickets.seed_merchant(), tickets.seed_merchant(district="outlets")
    mine = tickets.seed_person(["staff"], district="outlets")
    with tickets.admin() as admin:
        for n in range(5):
            admin.tickets.submit_ticket(**demand(shop_a, title=f"A{n}"))
        b_tickets = [admin.tickets.submit_ticket(**demand(shop_b, title=f"B{n}")) for n in range(3)]
        admin.tickets.assign_ticket(
            ticket_id=admin.tickets.submit_ticket(**demand(shop_a, title="A-mine"))["ticket_id"],
            assignee_id=mine,
            reason="协办",
        )
        everything = admin.tickets.list_tickets(limit=200)
    assert len(everything["items"]) == 9 and everything["next_cursor"] is None

    with tickets.merchant(shop_b) as shop:
        assert [t["title"] for t in shop.tickets.list_tickets()["items"]] == ["B2", "B1", "B0"]
    with tickets.staff(district="outlets", person_id=mine) as staff:
        titles, cursor = [], None
        while True:
            page = staff.tickets.list_tickets(limit=2, cursor=cursor)
            titles += [t["title"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert titles == ["A-mine", "B2", "B1", "B0"], "own district plus the case assigned to me, newest first"
        assert [t["title"] for t in staff.tickets.list_tickets(assignee_id=mine)["items"]] == ["A-mine"]
        assert staff.tickets.list_tickets(status="closed")["items"] == []
        with pytest.raises(ValidationError):
            staff.tickets.list_tickets(cursor="garbage")
        with pytest.raises(ValidationError):
            staff.tickets.list_tickets(limit=0)
    assert b_tickets[0]["reference"] < b_tickets[2]["reference"]


def test_overdue_filter_and_stats_rank_units(tickets):
    merchant = tickets.seed_merchant()
    owner = tickets.seed_person(["staff"])
    with tickets.merchant(merchant) as shop, tickets.staff(person_id=owner) as staff:
        fast = shop.tickets.submit_ticket(**demand(merchant, category="online_shop", handling_mode="on_the_spot"))
        slow = shop.tickets.submit_ticket(**demand(merchant, category="bank_financing"))
        staff.tickets.accept_ticket(ticket_id=fast["ticket_id"])
        staff.tickets.start_ticket(ticket_id=fast["ticket_id"])
        staff.tickets.resolve_ticket(ticket_id=fast["ticket_id"], resolution="店铺已开通")
        shop.tickets.close_ticket(ticket_id=fast["ticket_id"], rating=4)
        tickets.time.advance(days=30)
        overdue = staff.tickets.list_tickets(overdue=True)["items"]
        now = START + timedelta(days=30)
        figures = staff.tickets.stats(
            since=(now - timedelta(days=60)).isoformat(), until=(now + timedelta(days=1)).isoformat()
        )
        with pytest.raises(ValidationError):
            staff.tickets.stats(since=now.isoformat(), until=(now - timedelta(days=1)).isoformat())
    assert [t["reference"] for t in overdue] == [slow["reference"]]
    total = figures["total"]
    assert (total["submitted"], total["resolved"], total["closed"]) == (2, 1, 1)
    assert total["on_time_rate"] == 1.0 and total["average_rating"] == 4.0 and total["reopen_rate"] == 0.0
    assert figures["by_category"]["online_shop"]["resolved"] == 1
    assert figures["by_responsible"][owner]["submitted"] == 1


@pytest.mark.parametrize(
    "filters, field",
    [
        ({"district_id": "atlantis"}, "district_id"),
        ({"status": "sleeping"}, "status"),
        ({"category": "fortune_telling"}, "category"),
        ({"assignee_id": "x" * 101}, "assignee_id"),
        ({"limit": 0}, "limit"),
    ],
)
def test_a_list_filter_outside_what_the_alliance_has_is_refused_naming_the_field(tickets, filters, field):
    merchant = tickets.seed_merchant()
    with tickets.admin() as admin:
        admin.tickets.submit_ticket(**demand(merchant))
        with pytest.raises(ValidationError) as refused:
            admin.tickets.list_tickets(**filters)
        assert field in refused.value.fields
        assert len(admin.tickets.list_tickets(district_id="wholesale_city")["items"]) == 1
        assert admin.tickets.list_tickets(district_id="outlets")["items"] == []
