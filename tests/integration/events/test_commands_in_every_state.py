"""Every command on activities and registrations on an activity in each state it can be in (draft,
published, full, a seat offered to a waiter, registration closed, in progress, completed,
cancelled; an evaluation before, during and after its voting, and closed), by each kind of caller
allowed to call it: the answer is the command's result or a typed ``AllianceError``, and a refused
command changes nothing.

The commands are read from the service class, so a new one without a case here fails the test.
"""

import uuid
from contextlib import ExitStack, suppress

import psycopg
from psycopg.rows import dict_row

from alliance_platform.config import service_class
from alliance_platform.errors import AllianceError
from tests.integration.events.conftest import START, activity, evaluation
from tests.integration.events.test_meeting_commands_in_every_state import MEETING_COMMANDS, MEETING_MAKERS
from tests.support.every_state import run_every_state
from tests.support.helpers import wait_until

# Commands that make an activity rather than act on one: tried in test_activities.py.
MAKERS = {"create_activity", "create_series"}

# Each command: the kinds of caller that try it, and the arguments it takes in variants. Names in
# angle brackets are filled in from the activity at hand.
COMMANDS = {
    "update_activity": (("organiser", "admin"), [{"venue": "德百奥莱广场二楼"}, {"capacity": 0}]),
    "publish_activity": (("organiser", "admin"), [{}]),
    "cancel_activity": (("organiser", "admin"), [{"reason": "暴雨预警"}]),
    "close_registration": (("organiser", "admin"), [{}]),
    "complete_activity": (("organiser", "admin"), [{}]),
    "register": (("newcomer", "merchant"), [{}, {"merchant_id": "<own shop>"}]),
    "cancel_registration": (("registrant", "admin"), [{"registration_id": "<registration>"}]),
    "accept_offer": (("waiter", "admin"), [{"registration_id": "<offer>"}, {"registration_id": "<registration>"}]),
    "decline_offer": (("waiter", "admin"), [{"registration_id": "<offer>"}]),
    "check_in": (("organiser",), [{"code": "<check-in code>"}]),
    "nominate": (("organiser",), [{"merchant_id": "<another merchant>", "reason": "诚信经营"}]),
    "vote": (("newcomer", "merchant"), [{"merchant_id": "<nominee>"}]),
    "close_evaluation": (("organiser", "admin"), [{}]),
    # Offline check-in: an upload follows its device's download (World.call downloads first).
    "download_roster": (("organiser", "admin"), [{"device_id": "pad-1"}]),
    "upload_scans": (("organiser",), [{"device_id": "pad-1", "scans": "<a scan of the code>"}]),
}
# They name a registration, not the activity.
REGISTRATION_COMMANDS = {"cancel_registration", "accept_offer", "decline_offer"}


def _commands():
    cls = service_class("events")
    for name in sorted(dir(cls)):
        method = getattr(cls, name)
        if hasattr(method, "rpc_schema") and not method.rpc_read_only:
            yield name


def test_every_command_of_the_service_has_a_case_here():
    """Here, or — a branch meeting's — in test_meeting_commands_in_every_state.py."""
    assert set(_commands()) == set(COMMANDS) | MAKERS | set(MEETING_COMMANDS) | MEETING_MAKERS


class World:
    """The people of an activity, and activities built afresh in each state on the service clock."""

    def __init__(self, service, merchants, stack):
        self.service = service
        self.nominee, self.other_merchant, self.own_shop = merchants
        self.clients = {
            "organiser": stack.enter_context(service.organiser(person_id="organiser")),
            "registrant": stack.enter_context(service.member(person_id="registrant")),
            "waiter": stack.enter_context(service.member(person_id="waiter")),
            "newcomer": stack.enter_context(service.member(person_id="newcomer")),
            "merchant": stack.enter_context(service.merchant(merchant_id=self.own_shop, person_id="shopkeeper")),
            "admin": stack.enter_context(service.admin()),
        }
        self.db = stack.enter_context(psycopg.connect(service.database, autocommit=True, row_factory=dict_row))

    def events(self, kind):
        return self.clients[kind].events

    def build(self, state):
        """A new activity in ``state``, with the clock where that state holds; returns its context."""
        self.service.time.set(START)
        promotion = not state.startswith("evaluation")
        fields = activity(type="training", theme_tags=[], capacity=1 if state in ("full", "offered") else 5)
        created = self.events("organiser").create_activity(**(fields if promotion else evaluation()))
        context = {"activity_id": created["activity_id"], "registration": None, "code": None, "offer": None}
        if state in ("draft", "evaluation_draft"):
            return context
        self.events("organiser").publish_activity(activity_id=created["activity_id"])
        if promotion:
            mine = self.events("registrant").register(activity_id=created["activity_id"])
            context.update(registration=mine["registration_id"], code=mine["check_in_code"])
            if state in ("full", "offered"):
                waiting = self.events("waiter").register(activity_id=created["activity_id"])
                assert waiting["status"] == "waitlisted"
            if state == "offered":
                self.events("registrant").cancel_registration(registration_id=mine["registration_id"])
                context["offer"] = waiting["registration_id"]
        else:
            nominee = {"merchant_id": self.nominee, "reason": "诚信经营"}
            self.events("organiser").nominate(activity_id=created["activity_id"], **nominee)
        if state in ("cancelled", "evaluation_cancelled"):
            self.events("organiser").cancel_activity(activity_id=created["activity_id"], reason="取消")
        elif state == "registration_closed":
            self.events("organiser").close_registration(activity_id=created["activity_id"])
        elif state in ("in_progress", "completed"):
            self.service.time.advance(days=7, minutes=1)  # the timer starts it
            wait_until(lambda: self._status(created["activity_id"]) == "in_progress", message="the activity started")
            if state == "completed":
                self.events("organiser").check_in(activity_id=created["activity_id"], code=context["code"])
                self.events("organiser").complete_activity(activity_id=created["activity_id"])
        elif state == "evaluation_voting":
            self.service.time.advance(days=1, hours=1)
            self.events("registrant").vote(activity_id=created["activity_id"], merchant_id=self.nominee)
        elif state in ("evaluation_over", "evaluation_closed"):
            self.service.time.advance(days=3, hours=1)
            if state == "evaluation_closed":
                self.events("organiser").close_evaluation(activity_id=created["activity_id"])
        expected = {
            "full": "published",
            "offered": "published",
            "evaluation_voting": "published",
            "evaluation_over": "published",
            "evaluation_closed": "completed",
        }
        wanted = expected.get(state, state.removeprefix("evaluation_"))
        assert self._status(created["activity_id"]) == wanted, state
        return context

    def _status(self, activity_id):
        return self.db.execute("SELECT status FROM activities WHERE id = %s", (activity_id,)).fetchone()["status"]

    def call(self, kind, method, context, arguments):
        filled = {
            "<own shop>": self.own_shop,
            "<registration>": context["registration"],
            "<offer>": context["offer"],
            "<check-in code>": context["code"],
            "<another merchant>": self.other_merchant,
            "<nominee>": self.nominee,
        }
        if arguments.get("scans") == "<a scan of the code>":
            if context["code"] is None:
                return None  # nobody registered: no code to scan
            scan = {"nonce": str(uuid.uuid4()), "code": context["code"], "scanned_at": START.isoformat()}
            arguments = {**arguments, "scans": [scan]}
            # The device's roster (refused where check-in is: the upload is refused then too).
            with suppress(AllianceError):
                self.events(kind).download_roster(activity_id=context["activity_id"], device_id=arguments["device_id"])
        arguments = {k: filled.get(v, v) if isinstance(v, str) else v for k, v in arguments.items()}
        if method in REGISTRATION_COMMANDS:
            if arguments["registration_id"] is None:
                return None  # an activity without registrations: nothing to name
        else:
            arguments["activity_id"] = context["activity_id"]
        return getattr(self.events(kind), method)(**arguments)

    def snapshot(self, activity_id):
        """All a command could change: the activity's row, its registrations, and how many
        nominations, votes, points and events there are."""
        row = self.db.execute("SELECT * FROM activities WHERE id = %s", (activity_id,)).fetchone()
        registrations = self.db.execute(
            "SELECT * FROM registrations WHERE activity_id = %s ORDER BY id", (activity_id,)
        ).fetchall()
        counts = self.db.execute(
            "SELECT (SELECT count(*) FROM nominations) AS nominations, (SELECT count(*) FROM votes) AS votes,"
            " (SELECT count(*) FROM points) AS points, (SELECT count(*) FROM outbox) AS events,"
            " (SELECT count(*) FROM check_in_scans) AS scans,"
            " (SELECT count(*) FROM activities) AS activities"
        ).fetchone()
        return row, registrations, counts


STATES = (
    "draft",
    "published",
    "full",
    "offered",
    "registration_closed",
    "in_progress",
    "completed",
    "cancelled",
    "evaluation_draft",
    "evaluation_published",
    "evaluation_voting",
    "evaluation_over",
    "evaluation_closed",
    "evaluation_cancelled",
)


def test_every_command_on_an_activity_in_every_state_answers_typed_and_a_refusal_changes_nothing(events, merchants):
    with ExitStack() as stack:
        world = World(events, merchants, stack)
        # World.call answers None where a command has nothing to name (no registration, no code).
        outcome = run_every_state(world, STATES, COMMANDS, key="activity_id", noun="activity", skip_none=True)
    assert not outcome.failures, "\n".join(outcome.failures)
    assert outcome.done == set(COMMANDS), f"never done: {set(COMMANDS) - outcome.done}"
    assert outcome.refused
