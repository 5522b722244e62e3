"""Every command on a branch meeting, on a meeting in each state it can be in (planned before its
door opens, planned at the door, held, held with its minutes, cancelled), by each kind of caller
(the branch's secretary, an invitee, another district's secretary, an administrator): the answer is
the command's result or a typed ``AllianceError``, and a refused command changes nothing.

``plan_meeting`` makes a meeting rather than act on one: tried in test_meetings.py. The service's
commands are checked against these and the activities' in test_commands_in_every_state.py."""

from contextlib import ExitStack
from datetime import timedelta

import psycopg
from psycopg.rows import dict_row

from tests.integration.events.conftest import START
from tests.support.every_state import run_every_state

# Each command: the kinds of caller that try it, and its arguments in variants ("<...>" filled in).
MEETING_COMMANDS = {
    "check_in_to_meeting": (("secretary", "stranger", "admin"), [{"code": "<code>"}, {"code": "ZZZZZZZZ"}]),
    "excuse_absence": (
        ("invitee", "secretary", "stranger"),
        [{"reason": "外出进货"}, {"reason": "外出进货", "person_id": "<other invitee>"}],
    ),
    "hold_meeting": (("secretary", "invitee", "stranger", "admin"), [{}]),
    "record_minutes": (
        ("secretary", "stranger", "admin"),
        [{"minutes": "研究了流动党员接转。", "decisions": ["转入"]}],
    ),
    "cancel_meeting": (("secretary", "stranger", "admin"), [{"reason": "改期"}]),
}
MEETING_MAKERS = {"plan_meeting"}
STATES = ("planned", "at_the_door", "held", "minuted", "cancelled")
STARTS = START + timedelta(days=1)


class World:
    def __init__(self, service, members, stack):
        self.service = service
        self.invitee, self.other = members[0], members[1]
        self.clients = {
            "secretary": stack.enter_context(service.staff("outlets", roles=("branch_secretary",), person_id="sec")),
            "invitee": stack.enter_context(service.member(self.invitee, district="outlets")),
            "stranger": stack.enter_context(service.staff("aodele", roles=("branch_secretary",), person_id="far")),
            "admin": stack.enter_context(service.admin()),
        }
        self.db = stack.enter_context(psycopg.connect(service.database, autocommit=True, row_factory=dict_row))

    def build(self, state):
        """A new meeting of the Outlets branch in ``state``, the clock where that state holds."""
        self.service.time.set(START)
        desk = self.clients["secretary"].events
        planned = desk.plan_meeting(
            branch_id="branch_outlets",
            kind="branch_general_meeting",
            title="支部党员大会",
            place="德百奥莱广场党群服务站",
            starts_at=STARTS.isoformat(),
            ends_at=(STARTS + timedelta(hours=2)).isoformat(),
            agenda=["学习"],
        )
        meeting_id = planned["meeting_id"]
        code = self.clients["invitee"].events.get_meeting(meeting_id=meeting_id)["my_attendance"]["check_in_code"]
        if state != "planned":
            self.service.time.set(STARTS)
        if state in ("held", "minuted"):
            desk.hold_meeting(meeting_id=meeting_id)
        if state == "minuted":
            desk.record_minutes(meeting_id=meeting_id, minutes="纪要")
        if state == "cancelled":
            desk.cancel_meeting(meeting_id=meeting_id, reason="取消")
        return {"meeting_id": meeting_id, "code": code}

    def call(self, kind, method, context, arguments):
        filled = {"<code>": context["code"], "<other invitee>": self.other}
        arguments = {k: filled.get(v, v) if isinstance(v, str) else v for k, v in arguments.items()}
        return getattr(self.clients[kind].events, method)(meeting_id=context["meeting_id"], **arguments)

    def snapshot(self, meeting_id):
        row = self.db.execute("SELECT * FROM meetings WHERE id = %s", (meeting_id,)).fetchone()
        invitees = self.db.execute(
            "SELECT * FROM meeting_attendees WHERE meeting_id = %s ORDER BY person_id", (meeting_id,)
        ).fetchall()
        counts = self.db.execute(
            "SELECT (SELECT count(*) FROM outbox) AS events, (SELECT count(*) FROM meetings) AS meetings"
        ).fetchone()
        return row, invitees, counts


def test_every_command_on_a_meeting_in_every_state_answers_typed_and_a_refusal_changes_nothing(
    branch_life, outlets_members
):
    with ExitStack() as stack:
        world = World(branch_life, outlets_members, stack)
        outcome = run_every_state(
            world,
            STATES,
            MEETING_COMMANDS,
            key="meeting_id",
            noun="meeting",
            never_obeyed={"stranger": "another district's secretary"},
        )
    assert not outcome.failures, "\n".join(outcome.failures)
    assert outcome.done == set(MEETING_COMMANDS), f"never done: {set(MEETING_COMMANDS) - outcome.done}"
    assert outcome.refused
