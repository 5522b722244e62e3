"""The read side: a ticket as its caller may see it, its timeline, lists scoped to the caller, and
the figures units are ranked by."""

from datetime import timedelta

import pytest
from marshmallow import ValidationError

from alliance_platform.errors import Forbidden, NotFound
from alliance_tickets import queries, use_cases
from tests.use_cases.tickets.conftest import ADMIN, shop, staff


def test_a_merchant_sees_the_promise_and_the_question_but_not_the_handling(tickets):
    merchant = tickets.merchant()
    owner = staff(subject=tickets.person(["staff"], name="王经理"))
    ticket = tickets.in_progress(merchant, owner)
    tickets.call(use_cases.request_info, owner, ticket_id=str(ticket["id"]), text="请补充流水")
    view = tickets.call(queries.get_ticket, shop(merchant), ticket_id=str(ticket["id"]))
    assert view["sees_internals"] is False
    assert view["paused_because"] == "请补充流水"
    assert view["responsible"] == {"person_id": owner.subject, "name": "王经理"}
    assert "children" not in view
    handled = tickets.call(queries.get_ticket, owner, reference=ticket["reference"])
    assert handled["sees_internals"] is True and handled["children"] == []


def test_an_owner_the_registry_has_not_told_of_is_known_by_id(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket = tickets.in_progress(merchant, owner)
    view = tickets.call(queries.get_ticket, shop(merchant), ticket_id=str(ticket["id"]))
    assert view["responsible"] == {"person_id": owner.subject, "name": None}


def test_strangers_see_nothing(tickets):
    merchant = tickets.merchant()
    ticket_id = str(tickets.submitted(merchant)["id"])
    for caller in (shop(tickets.merchant()), staff("aodele")):
        with pytest.raises(Forbidden):
            tickets.call(queries.get_ticket, caller, ticket_id=ticket_id)
        with pytest.raises(Forbidden):
            tickets.call(queries.timeline, caller, ticket_id=ticket_id)
    with pytest.raises(NotFound):
        tickets.call(queries.get_ticket, ADMIN, reference="DM-2026-999999")


def test_the_merchants_timeline_leaves_out_what_is_internal(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.in_progress(merchant, owner)["id"])
    tickets.call(use_cases.add_note, owner, ticket_id=ticket_id, text="内部：客户征信一般")
    mine = [line["text"] for line in tickets.call(queries.timeline, shop(merchant), ticket_id=ticket_id)]
    everything = [line["text"] for line in tickets.call(queries.timeline, owner, ticket_id=ticket_id)]
    assert "内部：客户征信一般" in everything and "内部：客户征信一般" not in mine
    assert len(everything) == len(mine) + 1


def test_lists_cover_what_the_caller_may_see_newest_first_in_stable_pages(tickets):
    shop_a, shop_b = tickets.merchant(), tickets.merchant(district="outlets")
    mine = tickets.person(["staff"], district="outlets")
    for n in range(3):
        tickets.submitted(shop_a, title=f"A{n}")
        tickets.advance(minutes=1)
    for n in range(2):
        tickets.submitted(shop_b, title=f"B{n}")
        tickets.advance(minutes=1)
    assigned = tickets.submitted(shop_a, title="A-mine")
    tickets.call(use_cases.assign_ticket, ADMIN, ticket_id=str(assigned["id"]), assignee_id=mine, reason="协办")

    everything = tickets.call(queries.list_tickets, ADMIN, limit=200)
    assert len(everything["items"]) == 6 and everything["next_cursor"] is None
    assert [t["title"] for t in tickets.call(queries.list_tickets, shop(shop_b, "outlets"))["items"]] == ["B1", "B0"]
    titles, cursor = [], None
    while True:
        page = tickets.call(queries.list_tickets, staff("outlets", mine), limit=2, cursor=cursor)
        titles += [t["title"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert titles == ["A-mine", "B1", "B0"], "own district plus the case assigned to me"


def test_a_submission_window_finds_what_was_submitted_in_it_both_ends_included(tickets):
    merchant = tickets.merchant()
    first_at = tickets.now
    tickets.submitted(merchant, title="早")
    tickets.advance(days=1)
    middle_at = tickets.now
    tickets.submitted(merchant, title="中")
    tickets.advance(days=1)
    tickets.submitted(merchant, title="晚")

    def titles(**window):
        listed = tickets.call(queries.list_tickets, ADMIN, **{k: v.isoformat() for k, v in window.items()})
        return [t["title"] for t in listed["items"]]

    assert titles(submitted_from=middle_at) == ["晚", "中"]
    assert titles(submitted_until=middle_at) == ["中", "早"]
    assert titles(submitted_from=first_at, submitted_until=middle_at) == ["中", "早"]
    assert (
        titles(submitted_from=middle_at + timedelta(seconds=1), submitted_until=tickets.now - timedelta(seconds=1))
        == []
    )
    with pytest.raises(ValidationError) as refused:
        titles(submitted_from=tickets.now, submitted_until=first_at)
    assert "submitted_until" in refused.value.messages


def test_the_overdue_filter_finds_the_tickets_whose_clock_ran_out(tickets):
    merchant, owner = tickets.merchant(), staff()
    late = tickets.submitted(merchant)
    paused = tickets.in_progress(merchant, owner, handling_mode="on_the_spot")
    tickets.call(use_cases.request_info, owner, ticket_id=str(paused["id"]), text="请补充")
    done = tickets.resolved(merchant, owner, handling_mode="on_the_spot")
    tickets.advance(days=30)
    overdue = tickets.call(queries.list_tickets, ADMIN, overdue=True)["items"]
    assert [t["reference"] for t in overdue] == [late["reference"]]
    assert done["reference"] not in [t["reference"] for t in overdue]


def test_figures_count_the_callers_districts_for_the_period(tickets):
    here, there = tickets.merchant(), tickets.merchant(district="outlets")
    owner = staff(subject=tickets.person(["staff"]))
    fast = tickets.resolved(here, owner, category="online_shop", handling_mode="on_the_spot")
    tickets.call(use_cases.close_ticket, shop(here), ticket_id=str(fast["id"]), rating=4)
    tickets.submitted(here, category="bank_financing")
    tickets.submitted(there, category="bank_financing")
    period = {
        "since": (tickets.now - timedelta(days=1)).isoformat(),
        "until": (tickets.now + timedelta(days=1)).isoformat(),
    }
    figures = tickets.call(queries.stats, owner, **period)
    assert (figures["total"]["submitted"], figures["total"]["resolved"], figures["total"]["closed"]) == (2, 1, 1)
    assert float(figures["total"]["average_rating"]) == 4.0
    assert set(figures["by_district"]) == {"wholesale_city"}
    # The report's heat map: district with category, the caller's districts only.
    assert {key: row["submitted"] for key, row in figures["by_district_category"].items()} == {
        "wholesale_city/online_shop": 1,
        "wholesale_city/bank_financing": 1,
    }
    everywhere = tickets.call(queries.stats, ADMIN, **period)["by_district_category"]
    assert {key: row["submitted"] for key, row in everywhere.items()} == {
        "wholesale_city/online_shop": 1,
        "wholesale_city/bank_financing": 1,
        "outlets/bank_financing": 1,
    }
    assert (
        figures["by_responsible"][owner.subject]["submitted"] == 1
        and figures["by_responsible"]["None"]["submitted"] == 1
    )
    assert tickets.call(queries.stats, ADMIN, **period)["total"]["submitted"] == 3
