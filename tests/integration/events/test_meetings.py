"""Branch life (三会一课) over the broker: the events service asks the running registry for the
branch and its members, invitees check in with the codes they see themselves, attendance is closed,
minutes recorded, the compliance view flags the branches overdue, and the timer tells an overdue
branch's secretary (``branch_meeting_overdue``) — at a clock the test moves."""

from datetime import timedelta

import pytest

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.integration.events.conftest import START


def _meeting(**overrides):
    starts = START + timedelta(days=1, hours=5)
    return {
        "branch_id": "branch_outlets",
        "kind": "branch_committee",
        "title": "六月支部委员会",
        "place": "德百奥莱广场党群服务站",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "agenda": ["学习上级会议精神", "研究流动党员接转"],
        **overrides,
    }


def test_a_branch_meeting_planned_held_with_attendance_and_minutes_over_the_broker(branch_life, outlets_members):
    secretary = branch_life.staff("outlets", roles=("branch_secretary",))
    with secretary as desk:
        planned = desk.events.plan_meeting(**_meeting())
        with pytest.raises(ValidationError) as unknown:
            desk.events.plan_meeting(**_meeting(branch_id="branch_nowhere"))
        assert "branch_id" in unknown.value.fields
        with pytest.raises(ValidationError):
            desk.events.plan_meeting(**_meeting(kind="tea_party"))
        with pytest.raises(ValidationError) as unknown:
            desk.events.list_meetings(branch_id="branch_nowhere")
        assert "branch_id" in unknown.value.fields
    assert [a["person_id"] for a in planned["attendees"]] == outlets_members, "the branch's members are invited"
    [told] = branch_life.payloads("meeting_planned")
    assert told["person_ids"] == outlets_members and told["district_id"] == "outlets"
    with branch_life.staff("aodele", roles=("branch_secretary",)) as stranger:
        with pytest.raises(Forbidden):
            stranger.events.plan_meeting(**_meeting())

    meeting_id = planned["meeting_id"]
    codes = {}
    for person_id in outlets_members:
        with branch_life.member(person_id, district="outlets") as invitee:
            codes[person_id] = invitee.events.get_meeting(meeting_id=meeting_id)["my_attendance"]["check_in_code"]
    first, second, third = outlets_members
    with branch_life.member(third, district="outlets") as invitee:
        invitee.events.excuse_absence(meeting_id=meeting_id, reason="外出进货")
    branch_life.time.set(START + timedelta(days=1, hours=4, minutes=30))  # the door opens an hour before
    with branch_life.staff("outlets", roles=("branch_secretary",)) as desk:
        checked = desk.events.check_in_to_meeting(meeting_id=meeting_id, code=codes[first])
        assert checked["status"] == "attended"
        with pytest.raises(Conflict, match="already checked in"):
            desk.events.check_in_to_meeting(meeting_id=meeting_id, code=codes[first])
        held = desk.events.hold_meeting(meeting_id=meeting_id)
        assert held["attendance"] == {
            "invited": 3,
            "attended": 1,
            "excused": 1,
            "absent": 1,
            "attendance_rate": 0.5,
        }
        done = desk.events.record_minutes(
            meeting_id=meeting_id, minutes="研究了流动党员接转工作。", decisions=["本月完成转入"]
        )
        assert done["decisions"] == ["本月完成转入"]
        with pytest.raises(ValidationError):
            desk.events.record_minutes(meeting_id=meeting_id, minutes="")
        listed = desk.events.list_meetings(branch_id="branch_outlets", status="held")
        assert [m["meeting_id"] for m in listed["items"]] == [meeting_id]
    [recorded] = branch_life.payloads("meeting_held")
    assert (recorded["attended"], recorded["absent"]) == ([first], [second])
    assert recorded["excused"] == [{"person_id": third, "reason": "外出进货"}]
    assert branch_life.payloads("minutes_recorded")[0]["minutes"] == "研究了流动党员接转工作。"


def test_the_compliance_view_flags_overdue_branches_and_their_secretaries_are_told(branch_life, outlets_members):
    with branch_life.staff("outlets", roles=("branch_secretary",)) as desk:
        planned = desk.events.plan_meeting(**_meeting())
        branch_life.time.set(START + timedelta(days=1, hours=5))
        desk.events.hold_meeting(meeting_id=planned["meeting_id"])
    branch_life.time.set(START + timedelta(days=31))  # 2 July: June's committee and Party group were due
    with branch_life.admin() as admin:
        view = admin.events.branch_compliance()
    assert view["as_of"] == "2026-07-02"
    flagged = {b["branch_id"] for b in view["branches"] if b["overdue"]}
    assert {"branch_outlets", "branch_aodele", "branch_wholesale_city"} <= flagged
    assert set(view["overdue_branches"]) == flagged
    [outlets] = [b for b in view["branches"] if b["branch_id"] == "branch_outlets"]
    standing = {k["kind"]: (k["last_held_on"], k["next_due_on"], k["overdue"]) for k in outlets["kinds"]}
    assert standing["branch_committee"] == ("2026-06-02", "2026-07-31", False)
    assert standing["party_group_meeting"] == (None, "2026-06-30", True)
    with branch_life.staff("aodele", roles=("branch_secretary",)) as aodele:
        assert aodele.events.branch_compliance()["overdue_branches"] == ["branch_aodele"]
        with pytest.raises(ValidationError):
            aodele.events.branch_compliance(branch_id="branch_nowhere")

    told = branch_life.wait_published("branch_meeting_overdue", count=5)
    notices = {(p["branch_id"], p["kind"]) for p in told}
    assert ("branch_aodele", "branch_committee") in notices and ("branch_outlets", "party_group_meeting") in notices
    assert ("branch_outlets", "branch_committee") not in notices, "the Outlets branch held its committee in June"
    assert all(p["missed_period"] == "2026-06-01" for p in told)
    assert len(told) == len(notices), "each branch's secretary is told once per period missed"


def test_a_branch_the_registry_retires_keeps_its_meetings_to_read_and_plans_no_more(branch_life, outlets_members):
    """A fourth branch added in the running registry holds a meeting and is retired there: its
    meetings are still listed by its id, a new one is refused as a conflict, not as unknown."""
    with branch_life.admin() as admin:
        admin.registry.add_organisation(
            organisation_id="branch_night_market",
            type="party_branch",
            name="夜市临时党支部",
            short_name="夜市党支部",
            parent_id="alliance",
            district_id="outlets",
        )
        planned = admin.events.plan_meeting(**_meeting(branch_id="branch_night_market", invitees=outlets_members))
        admin.registry.retire_organisation(organisation_id="branch_night_market", reason="夜市季节结束")
        listed = admin.events.list_meetings(branch_id="branch_night_market")
        assert [m["meeting_id"] for m in listed["items"]] == [planned["meeting_id"]]
        with pytest.raises(Conflict, match="was retired in the register"):
            admin.events.plan_meeting(**_meeting(branch_id="branch_night_market", invitees=outlets_members))
        with pytest.raises(ValidationError):
            admin.events.list_meetings(branch_id="branch_nowhere")
