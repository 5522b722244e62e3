"""Branch life (三会一课) on a real database: a branch's meeting planned with its agenda and its
members invited, attendance taken by check-in, the absent recorded, minutes recorded once, a
planned meeting cancelled; the per-branch compliance view against the configured rhythm, and the
timer that tells an overdue branch's secretary once per period missed — at a clock the test moves.

The registry's branches and members are a hand-written stand-in with ``RegistryBranches``'s methods."""

import dataclasses
from datetime import date, timedelta

import pytest
from marshmallow import ValidationError as SchemaError

from alliance_events import queries, timers, use_cases
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.support.harness import identity
from tests.use_cases.events.conftest import START, member

OUTLETS, AODELE = "branch_outlets", "branch_aodele"
MEMBERS = {OUTLETS: ["m-1", "m-2", "m-3", "m-4"], AODELE: ["a-1"]}


class Register:
    """The registry's Party branches, their members and people, as the use cases ask them."""

    def __init__(self):
        self.branches = {
            OUTLETS: {"id": OUTLETS, "name": "德百奥莱广场党支部", "district_id": "outlets"},
            AODELE: {"id": AODELE, "name": "澳德乐时代广场党支部", "district_id": "aodele"},
        }
        self.people = {p for ids in MEMBERS.values() for p in ids} | {"guest"}

    def all(self, include_retired=False):
        return [
            self.branches[b] for b in sorted(self.branches) if include_retired or not self.branches[b].get("retired")
        ]

    def get(self, branch_id, include_retired=False):
        found = self.branches.get(branch_id)
        return found if found and (include_retired or not found.get("retired")) else None

    def members(self, branch_id, at_most):
        return MEMBERS.get(branch_id, [])[: at_most + 1]

    def unknown_people(self, person_ids):
        return [p for p in person_ids if p not in self.people]


@pytest.fixture
def register():
    return Register()


def secretary(district="outlets", subject="secretary"):
    return identity("staff", ["branch_secretary"], [district], subject=subject)


def meeting(**overrides):
    """A branch committee of the Outlets branch tomorrow at 14:30 (local), for 90 minutes."""
    starts = START + timedelta(days=1, hours=5, minutes=30)
    return {
        "branch_id": OUTLETS,
        "kind": "branch_committee",
        "title": "六月支部委员会",
        "place": "德百奥莱广场党群服务站",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=90)).isoformat(),
        "agenda": ["传达学习上级会议精神", "研究流动党员接转工作"],
        **overrides,
    }


def _plan(events, register, caller=None, **overrides):
    return events.call(use_cases.plan_meeting, caller or secretary(), {"branches": register}, **meeting(**overrides))


def _code(events, meeting_id, person_id):
    [row] = events.query(
        "SELECT check_in_code FROM meeting_attendees WHERE meeting_id = %s AND person_id = %s", (meeting_id, person_id)
    )
    return row["check_in_code"]


def _at_the_door(events, planned):
    """The clock at the meeting's start."""
    events.now = planned["starts_at"]


def test_a_meeting_is_planned_with_its_agenda_and_the_branchs_members_invited(events, register):
    planned = _plan(events, register)
    assert (planned["status"], planned["kind"], planned["district_id"]) == ("planned", "branch_committee", "outlets")
    assert planned["agenda"] == ["传达学习上级会议精神", "研究流动党员接转工作"]
    assert planned["attendance"] == {"invited": 4, "attended": 0, "excused": 0, "absent": 0, "attendance_rate": 0.0}
    assert [a["person_id"] for a in planned["attendees"]] == MEMBERS[OUTLETS]
    assert planned["my_attendance"] is None, "the secretary is not among the invitees here"
    codes = events.query("SELECT check_in_code FROM meeting_attendees WHERE meeting_id = %s", (planned["id"],))
    assert len({r["check_in_code"] for r in codes}) == 4, "each invitee has a code of their own"
    [told] = events.payloads("meeting_planned")
    assert told["person_ids"] == MEMBERS[OUTLETS] and told["agenda"] == planned["agenda"]
    assert (told["meeting_id"], told["branch_id"], told["planned_by"]) == (
        str(planned["id"]),
        OUTLETS,
        "staff:secretary",
    )


def test_invitees_named_instead_of_the_members_must_be_people_of_the_register(events, register):
    planned = _plan(events, register, kind="party_lecture", invitees=["guest", "a-1", "guest"])
    assert [a["person_id"] for a in planned["attendees"]] == ["a-1", "guest"]
    error = events.refused(
        ValidationError, use_cases.plan_meeting, secretary(), {"branches": register}, **meeting(invitees=["nobody"])
    )
    assert error.fields == {"invitees": ["no person nobody in the register"]}


@pytest.mark.parametrize(
    "caller, overrides, error",
    [
        (secretary(), {"branch_id": "branch_nowhere"}, ValidationError),  # not a branch of the register
        (secretary("aodele"), {}, Forbidden),  # another district's secretary
        (member("m-1"), {}, Forbidden),  # a member plans no meetings
        (secretary(), {"starts_at": (START - timedelta(minutes=1)).isoformat()}, Conflict),
        (secretary(), {"ends_at": (START + timedelta(days=1)).isoformat()}, Conflict),  # before it starts
        (secretary(), {"kind": "tea_party"}, SchemaError),
        (secretary(), {"agenda": []}, SchemaError),
        (secretary(), {"agenda": ["议题"] * 21}, SchemaError),
        (secretary(), {"title": "会" * 201}, SchemaError),
        (secretary(), {"invitees": ["p"] * 501}, SchemaError),
    ],
)
def test_a_bad_plan_is_refused_and_changes_nothing(events, register, caller, overrides, error):
    events.refused(error, use_cases.plan_meeting, caller, {"branches": register}, **meeting(**overrides))


def test_a_branch_without_members_in_the_register_has_nobody_to_invite(events, register):
    register.branches["branch_new"] = {"id": "branch_new", "name": "新支部", "district_id": "outlets"}
    error = events.refused(
        ValidationError, use_cases.plan_meeting, secretary(), {"branches": register}, **meeting(branch_id="branch_new")
    )
    assert "no members" in error.fields["branch_id"][0]


def test_attendance_is_taken_by_check_in_the_excused_keep_their_reason_and_the_rest_are_absent(events, register):
    planned = _plan(events, register)
    meeting_id = str(planned["id"])
    events.refused(Conflict, use_cases.check_in_to_meeting, secretary(), meeting_id=meeting_id, code="ABCD")
    # The member asks leave himself, the day before.
    excused = events.call(use_cases.excuse_absence, member("m-3"), meeting_id=meeting_id, reason="外出进货")
    assert (excused["status"], excused["reason"]) == ("excused", "外出进货")
    _at_the_door(events, planned)
    code = _code(events, meeting_id, "m-1")
    came = events.call(use_cases.check_in_to_meeting, secretary(), meeting_id=meeting_id, code=f" {code.lower()} ")
    assert (came["person_id"], came["status"], came["checked_in_at"]) == ("m-1", "attended", events.now)
    # Excused, and there after all: checked in, the leave no longer stands.
    events.call(use_cases.excuse_absence, member("m-2"), meeting_id=meeting_id, reason="可能来不了")
    second = _code(events, meeting_id, "m-2")
    came = events.call(use_cases.check_in_to_meeting, secretary(), meeting_id=meeting_id, code=second)
    assert (came["status"], came["reason"]) == ("attended", None)
    events.refused(Conflict, use_cases.check_in_to_meeting, secretary(), meeting_id=meeting_id, code=code)
    events.refused(NotFound, use_cases.check_in_to_meeting, secretary(), meeting_id=meeting_id, code="ZZZZZZZZ")
    events.refused(Forbidden, use_cases.check_in_to_meeting, secretary("aodele"), meeting_id=meeting_id, code=code)
    # One who came is not excused; a member excuses only himself.
    events.refused(Conflict, use_cases.excuse_absence, member("m-1"), meeting_id=meeting_id, reason="有事")
    events.refused(
        Forbidden, use_cases.excuse_absence, member("m-1"), meeting_id=meeting_id, person_id="m-4", reason="代请假"
    )
    events.refused(NotFound, use_cases.excuse_absence, member("x-9"), meeting_id=meeting_id, reason="有事")

    held = events.call(use_cases.hold_meeting, secretary(), meeting_id=meeting_id)
    assert held["status"] == "held" and held["held_at"] == events.now
    assert held["attendance"] == {"invited": 4, "attended": 2, "excused": 1, "absent": 1, "attendance_rate": 0.667}
    assert {a["person_id"]: a["status"] for a in held["attendees"]} == {
        "m-1": "attended",
        "m-2": "attended",
        "m-3": "excused",
        "m-4": "absent",
    }
    [recorded] = events.payloads("meeting_held")
    assert (recorded["attended"], recorded["excused"], recorded["absent"]) == (
        ["m-1", "m-2"],
        [{"person_id": "m-3", "reason": "外出进货"}],
        ["m-4"],
    )
    assert recorded["attendance_rate"] == 0.667
    # Once held, attendance is closed.
    events.refused(Conflict, use_cases.hold_meeting, secretary(), meeting_id=meeting_id)
    late = _code(events, meeting_id, "m-4")
    events.refused(Conflict, use_cases.check_in_to_meeting, secretary(), meeting_id=meeting_id, code=late)
    events.refused(Conflict, use_cases.excuse_absence, member("m-4"), meeting_id=meeting_id, reason="补请假")


def test_minutes_are_recorded_once_after_the_meeting_is_held(events, register):
    planned = _plan(events, register)
    meeting_id = str(planned["id"])
    minutes = {"minutes": "会议由支部书记主持，研究了流动党员接转工作。", "decisions": ["本月完成两名流动党员转入"]}
    events.refused(Conflict, use_cases.record_minutes, secretary(), meeting_id=meeting_id, **minutes)
    _at_the_door(events, planned)
    events.call(use_cases.hold_meeting, secretary(), meeting_id=meeting_id)
    events.refused(SchemaError, use_cases.record_minutes, secretary(), meeting_id=meeting_id, minutes="纪" * 20_001)
    events.refused(Forbidden, use_cases.record_minutes, member("m-1"), meeting_id=meeting_id, **minutes)
    done = events.call(use_cases.record_minutes, secretary(), meeting_id=meeting_id, **minutes)
    assert (done["minutes"], done["decisions"], done["minutes_recorded_at"]) == (
        minutes["minutes"],
        minutes["decisions"],
        events.now,
    )
    events.refused(Conflict, use_cases.record_minutes, secretary(), meeting_id=meeting_id, **minutes)
    [recorded] = events.payloads("minutes_recorded")
    assert (recorded["minutes"], recorded["decisions"], recorded["recorded_by"]) == (
        minutes["minutes"],
        minutes["decisions"],
        "staff:secretary",
    )


def test_a_planned_meeting_is_cancelled_and_its_invitees_told_and_nothing_more_happens_to_it(events, register):
    planned = _plan(events, register)
    meeting_id = str(planned["id"])
    cancelled = events.call(use_cases.cancel_meeting, secretary(), meeting_id=meeting_id, reason="与上级会议冲突")
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "与上级会议冲突")
    [told] = events.payloads("meeting_cancelled")
    assert (told["person_ids"], told["reason"]) == (MEMBERS[OUTLETS], "与上级会议冲突")
    _at_the_door(events, planned)
    for command, extra in ((use_cases.cancel_meeting, {"reason": "again"}), (use_cases.hold_meeting, {})):
        events.refused(Conflict, command, secretary(), meeting_id=meeting_id, **extra)
    nowhere = "00000000-0000-4000-8000-000000000000"
    events.refused(NotFound, use_cases.cancel_meeting, secretary(), meeting_id=nowhere, reason="nothing")


def test_an_invitee_sees_the_meeting_with_their_own_code_and_nobody_elses(events, register):
    planned = _plan(events, register)
    meeting_id = str(planned["id"])
    mine = events.call(queries.get_meeting, member("m-2"), meeting_id=meeting_id)
    assert mine["attendees"] is None, "an invitee is not shown the others one by one"
    assert mine["my_attendance"]["check_in_code"] == _code(events, meeting_id, "m-2")
    kept = events.call(queries.get_meeting, secretary(), meeting_id=meeting_id)
    assert len(kept["attendees"]) == 4 and kept["my_attendance"] is None
    assert all("check_in_code" not in a for a in kept["attendees"])
    events.refused(Forbidden, queries.get_meeting, member("a-1", district="aodele"), meeting_id=meeting_id)


def test_meetings_are_listed_latest_first_by_branch_kind_and_status_and_an_unknown_branch_is_an_error(events, register):
    first = _plan(events, register)
    lecture = _plan(
        events,
        register,
        kind="party_lecture",
        starts_at=(START + timedelta(days=3)).isoformat(),
        ends_at=(START + timedelta(days=3, hours=2)).isoformat(),
    )
    other = _plan(
        events,
        register,
        caller=secretary("aodele"),
        branch_id=AODELE,
        starts_at=(START + timedelta(days=2)).isoformat(),
        ends_at=(START + timedelta(days=2, hours=1)).isoformat(),
    )
    ports = {"branches": register}
    everything = events.call(queries.list_meetings, identity("staff", ["admin"], ["*"]), ports)
    assert [m["id"] for m in everything["items"]] == [lecture["id"], other["id"], first["id"]]
    own = events.call(queries.list_meetings, secretary(), ports)
    assert {m["id"] for m in own["items"]} == {first["id"], lecture["id"]}, "a secretary lists their branch's"
    lectures = events.call(queries.list_meetings, secretary(), ports, branch_id=OUTLETS, kind="party_lecture")
    assert [m["id"] for m in lectures["items"]] == [lecture["id"]]
    paged = events.call(queries.list_meetings, secretary(), ports, limit=1)
    second = events.call(queries.list_meetings, secretary(), ports, limit=1, cursor=paged["next_cursor"])
    assert [m["id"] for m in paged["items"] + second["items"]] == [lecture["id"], first["id"]]
    error = events.refused(ValidationError, queries.list_meetings, secretary(), ports, branch_id="branch_nowhere")
    assert error.fields == {"branch_id": ["no Party branch 'branch_nowhere' in the register"]}
    events.refused(SchemaError, queries.list_meetings, secretary(), ports, kind="tea_party")
    events.refused(SchemaError, queries.list_meetings, secretary(), ports, status="postponed")
    events.refused(Forbidden, queries.list_meetings, secretary("aodele"), ports, branch_id=OUTLETS)


def test_a_retired_branch_keeps_its_meetings_to_read_but_plans_no_more(events, register):
    held = _plan(events, register)
    register.branches[OUTLETS]["retired"] = True
    ports = {"branches": register}
    admin = identity("staff", ["admin"], ["*"])
    listed = events.call(queries.list_meetings, admin, ports, branch_id=OUTLETS)
    assert [m["id"] for m in listed["items"]] == [held["id"]], "the retired branch's meetings are still listed"
    assert [m["id"] for m in events.call(queries.list_meetings, secretary(), ports, branch_id=OUTLETS)["items"]] == [
        held["id"]
    ]
    error = events.refused(Conflict, use_cases.plan_meeting, secretary(), ports, **meeting())
    assert "德百奥莱广场党支部 (branch_outlets) was retired in the register" in str(error)
    events.refused(ValidationError, queries.list_meetings, admin, ports, branch_id="branch_nowhere")


def _kinds(view, branch_id):
    [branch] = [b for b in view["branches"] if b["branch_id"] == branch_id]
    return {k["kind"]: (k["last_held_on"], k["next_due_on"], k["overdue"]) for k in branch["kinds"]}


def test_the_compliance_view_and_the_timer_tell_an_overdue_branchs_secretary_once_per_period_missed(events, register):
    """Counted from 1 June: by 2 July the committee and the Party group owed a June meeting; the
    Outlets branch held its committee on 2 June, the Aodele branch held nothing."""
    events.settings = dataclasses.replace(events.settings, rhythm_since=date(2026, 6, 1))
    admin = identity("staff", ["admin"], ["*"])
    ports = {"branches": register}
    fresh = events.call(queries.branch_compliance, admin, ports)
    assert fresh["as_of"] == date(2026, 6, 1) and fresh["overdue_branches"] == []
    assert _kinds(fresh, AODELE)["branch_committee"] == (None, date(2026, 6, 30), False)
    # The quarter was two-thirds gone when counting began: the first lecture is owed by 30 September.
    assert _kinds(fresh, AODELE)["party_lecture"] == (None, date(2026, 9, 30), False)
    assert events.tick(timers.run_branch_rhythm, register) == {"overdue_told": 0}

    planned = _plan(events, register)
    _at_the_door(events, planned)
    events.call(use_cases.hold_meeting, secretary(), meeting_id=str(planned["id"]))
    # A cancelled meeting counts for nothing.
    cancelled = _plan(events, register, caller=secretary("aodele"), branch_id=AODELE)
    events.call(use_cases.cancel_meeting, secretary("aodele"), meeting_id=str(cancelled["id"]), reason="改期")

    events.now = START + timedelta(days=31)  # Thursday 2 July
    view = events.call(queries.branch_compliance, admin, ports)
    assert view["overdue_branches"] == [AODELE, OUTLETS]
    assert _kinds(view, OUTLETS) == {
        "branch_general_meeting": (None, date(2026, 9, 30), False),
        "branch_committee": (date(2026, 6, 2), date(2026, 7, 31), False),
        "party_group_meeting": (None, date(2026, 6, 30), True),
        "party_lecture": (None, date(2026, 9, 30), False),
    }
    assert _kinds(view, AODELE)["branch_committee"] == (None, date(2026, 6, 30), True)
    assert events.call(queries.branch_compliance, secretary("aodele"), ports)["overdue_branches"] == [AODELE]
    events.refused(ValidationError, queries.branch_compliance, admin, ports, branch_id="branch_nowhere")
    events.refused(Forbidden, queries.branch_compliance, secretary("aodele"), ports, branch_id=OUTLETS)
    [one] = events.call(queries.branch_compliance, secretary(), ports, branch_id=OUTLETS)["branches"]
    assert one["branch_id"] == OUTLETS and one["overdue"]

    assert events.tick(timers.run_branch_rhythm, register) == {"overdue_told": 3}
    assert events.tick(timers.run_branch_rhythm, register) == {"overdue_told": 0}, "once per period missed"
    told = sorted((p["branch_id"], p["kind"], p["missed_period"]) for p in events.payloads("branch_meeting_overdue"))
    assert told == [
        (AODELE, "branch_committee", "2026-06-01"),
        (AODELE, "party_group_meeting", "2026-06-01"),
        (OUTLETS, "party_group_meeting", "2026-06-01"),
    ]
    [aodele] = [p for p in events.payloads("branch_meeting_overdue") if p["kind"] == "branch_committee"]
    assert (aodele["district_id"], aodele["branch_name"], aodele["rhythm"], aodele["due_on"]) == (
        "aodele",
        "澳德乐时代广场党支部",
        "monthly",
        "2026-06-30",
    )

    events.now = START + timedelta(days=63)  # Monday 3 August: July missed as well, by all three
    assert events.tick(timers.run_branch_rhythm, register) == {"overdue_told": 4}, "July, and Outlets' committee"
