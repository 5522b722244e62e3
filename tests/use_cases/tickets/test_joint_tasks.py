"""Joint handling (联办): a demand's tasks for other districts or teams, refused with a reason that
goes back to the parent's owner; the parent resolves only once no task is open."""

from alliance_platform.errors import Conflict
from alliance_tickets import use_cases
from alliance_tickets.domain import lifecycle as lc
from tests.use_cases.tickets.conftest import staff

TASK = {"title": "核实澳德乐同款商品价格", "description": "比价"}


def test_a_task_for_a_known_district_is_routed_there_and_one_for_a_team_goes_to_the_team(tickets):
    merchant = tickets.merchant()
    tickets.merchant(district="aodele")  # a district the directory knows
    owner = staff()
    parent = tickets.in_progress(merchant, owner, category="rights_protection")
    to_aodele = tickets.call(use_cases.add_child_task, owner, parent_id=str(parent["id"]), unit="aodele", **TASK)
    to_bank = tickets.call(use_cases.add_child_task, owner, parent_id=str(parent["id"]), unit="bank-liaisons", **TASK)
    assert (to_aodele["district_id"], to_aodele["unit"], to_aodele["parent_id"]) == ("aodele", "aodele", parent["id"])
    assert to_aodele["category"] == "rights_protection" and to_aodele["merchant_id"] == parent["merchant_id"]
    assert (to_bank["district_id"], to_bank["style"], to_bank["team"]) == ("wholesale_city", "team", "bank-liaisons")
    lines = [line for line in tickets.timeline(parent["id"]) if line["kind"] == "child_task"]
    assert [line["data"] for line in lines] == [
        {"child": to_aodele["reference"], "unit": "aodele"},
        {"child": to_bank["reference"], "unit": "bank-liaisons"},
    ]


def test_tasks_do_not_nest_and_a_finished_demand_takes_no_new_ones(tickets):
    merchant, owner = tickets.merchant(), staff()
    parent = str(tickets.in_progress(merchant, owner)["id"])
    task = str(tickets.call(use_cases.add_child_task, owner, parent_id=parent, unit="bank-liaisons", **TASK)["id"])
    error = tickets.refused(Conflict, use_cases.add_child_task, owner, parent_id=task, unit="service-centre", **TASK)
    assert "tasks do not nest" in str(error)
    done = str(tickets.resolved(merchant, owner)["id"])
    tickets.refused(Conflict, use_cases.add_child_task, owner, parent_id=done, unit="bank-liaisons", **TASK)


def test_the_parent_waits_for_its_open_tasks_and_a_refusal_goes_back_to_its_owner(tickets):
    merchant = tickets.merchant()
    tickets.merchant(district="aodele")
    owner, other = staff(), staff("aodele")
    parent = tickets.in_progress(merchant, owner)
    parent_id = str(parent["id"])
    task = tickets.call(use_cases.add_child_task, owner, parent_id=parent_id, unit="aodele", **TASK)
    error = tickets.refused(Conflict, use_cases.resolve_ticket, owner, ticket_id=parent_id, resolution="x")
    assert "1 open child task" in str(error)

    refused = tickets.call(use_cases.refuse_task, other, ticket_id=str(task["id"]), reason="该商品不在本商圈销售")
    assert (refused["status"], refused["refusal_reason"]) == (lc.REJECTED, "该商品不在本商圈销售")
    [event] = tickets.payloads("task_refused")
    assert (event["parent_reference"], event["parent_responsible_id"], event["unit"], event["refused_by"]) == (
        parent["reference"],
        owner.subject,
        "aodele",
        other.subject,
    )
    line = tickets.timeline(parent_id)[-1]
    assert (line["kind"], line["text"], line["visible_to_merchant"]) == ("task_refused", "该商品不在本商圈销售", False)
    assert tickets.payloads("ticket_status_changed")[-1]["text"] is None, "a refusal is not told the merchant"
    resolved = tickets.call(use_cases.resolve_ticket, owner, ticket_id=parent_id, resolution="维权成功")
    assert resolved["status"] == lc.RESOLVED


def test_only_a_task_can_be_refused(tickets):
    merchant, owner = tickets.merchant(), staff()
    ticket_id = str(tickets.submitted(merchant)["id"])
    error = tickets.refused(Conflict, use_cases.refuse_task, owner, ticket_id=ticket_id, reason="不属于本商圈")
    assert "reject it instead" in str(error)
