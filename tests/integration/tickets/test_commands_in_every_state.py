"""Every command of the demand list, on a ticket in each state of its life, by each kind of caller
allowed to call it: the answer is the command's result or a typed ``AllianceError`` (never a
``RemoteError`` of an untyped failure), and a refused command changes nothing.

The commands are read from the service class itself, so a new command without a case here fails
the test instead of going untried.
"""

from contextlib import ExitStack

import psycopg
import pytest
from psycopg.rows import dict_row

from alliance_platform.config import service_class
from alliance_platform.errors import AllianceError
from tests.integration.tickets.conftest import START, TicketsHarness, demand

# A checklist-style category (清单式), so that ticking a checklist item has an item to tick.
CATEGORY = "government_affairs"
DISTRICTS = ("wholesale_city", "aodele")

# How each state is reached from a fresh demand: steps of (caller, method, arguments).
PATHS = {
    "submitted": [],
    "accepted": [("staff", "accept_ticket", {})],
    "in_progress": [("staff", "accept_ticket", {}), ("staff", "start_ticket", {})],
    "waiting_on_merchant": [
        ("staff", "accept_ticket", {}),
        ("staff", "start_ticket", {}),
        ("staff", "request_info", {"text": "请补充营业执照副本"}),
    ],
    "referred": [
        ("staff", "accept_ticket", {}),
        ("staff", "start_ticket", {}),
        ("staff", "refer_ticket", {"partner": "区市场监管局", "note": None}),
    ],
    "resolved": [
        ("staff", "accept_ticket", {}),
        ("staff", "start_ticket", {}),
        ("staff", "resolve_ticket", {"resolution": "已代为递交"}),
    ],
    "closed": [
        ("staff", "accept_ticket", {}),
        ("staff", "start_ticket", {}),
        ("staff", "resolve_ticket", {"resolution": "已代为递交"}),
        ("merchant", "close_ticket", {"rating": 5}),
    ],
    "rejected": [("staff", "reject_ticket", {"reason": "不属于服务范围"})],
    "cancelled": [("merchant", "cancel_ticket", {"reason": "已自行办理"})],
}

# Each command with arguments a caller would send (the ticket's id is added), in variants.
COMMANDS = {
    "accept_ticket": [{}],
    "assign_ticket": [{"assignee_id": "<colleague>", "reason": "转由同事跟进"}],
    "start_ticket": [{}],
    "request_info": [{"text": "请补充材料"}],
    "provide_info": [{"text": "材料已上传"}],
    "refer_ticket": [{"partner": "德州银行", "note": "请协助"}],
    "record_partner_reply": [{"text": "已受理"}],
    "resolve_ticket": [{"resolution": "已办结"}],
    "close_ticket": [{"rating": 5, "comment": "满意"}, {"rating": 1, "comment": "没有解决"}],
    "reject_ticket": [{"reason": "重复提交"}],
    "cancel_ticket": [{"reason": "不需要了"}],
    "reopen_ticket": [{"reason": "问题仍然存在"}],
    "add_note": [{"text": "已电话联系", "visible_to_merchant": True}],
    "tick_checklist_item": [{"item_id": 1, "done": True}, {"item_id": 99}],
    "add_child_task": [{"unit": "aodele", "title": "核实澳德乐门店情况", "description": "请协助核实"}],
    "refuse_task": [{"reason": "不属于本商圈"}],
    # The follow-up practice: a call's outcome (a closed demand owes one here: the sample is 1),
    # supervision (every ticket here was escalated once), a merge into an open demand of the same
    # merchant, and the custody log (each ticket holds one document and has handed one back).
    "record_follow_up": [{"outcome": "solved", "note": "已解决"}],
    "supervise_ticket": [{"due_at": "2027-01-05T10:00:00+08:00", "reason": "督办"}],
    "merge_ticket": [{"into_id": "<survivor>", "reason": "重复提交"}],
    "receive_document": [{"document": "营业执照副本", "received_from": "店主", "location": "档案柜A-3"}],
    "move_document": [{"item_id": "<held>", "location": "窗口3号柜"}],
    "return_document": [{"item_id": "<held>", "returned_to": "店主"}],
    "confirm_document_return": [{"item_id": "<returned>"}],
}
# Commands on a document of the ticket's custody log rather than on the ticket itself.
ON_DOCUMENTS = {"move_document", "return_document", "confirm_document_return"}


def _commands():
    cls = service_class("tickets")
    for name in sorted(dir(cls)):
        method = getattr(cls, name)
        if hasattr(method, "rpc_schema") and not method.rpc_read_only and name != "submit_ticket":
            yield name, method.rpc_allow


@pytest.fixture
def tickets(service_harness):
    """The tickets service with every closed demand owing a follow-up call (the sample share 1),
    so that recording a call's outcome has a case in the closed state."""
    started = service_harness("tickets", START, SLA_SWEEP_INTERVAL=0.05, FOLLOW_UP_SAMPLE_SHARE=1.0)
    return TicketsHarness(started.container, started.time, started.tokens, started.client, started.extras)


def test_every_command_of_the_service_has_a_case_here():
    assert {name for name, _ in _commands()} == set(COMMANDS)


class World:
    """A merchant with a demand list, the staff who handle it, and tickets put in each state."""

    def __init__(self, tickets, stack):
        self.tickets = tickets
        self.merchant_id = tickets.seed_merchant()
        tickets.seed_merchant(district=DISTRICTS[1])  # a district the directory knows: a task can go there
        self.staff_id = tickets.seed_person(["staff"])
        self.colleague_id = tickets.seed_person(["staff"])
        self.clients = {
            "merchant": stack.enter_context(tickets.merchant(self.merchant_id)),
            # Staff of both districts: the demand's, and the one its joint tasks go to.
            "staff": stack.enter_context(tickets.as_("staff", ["staff"], DISTRICTS, subject=self.staff_id)),
            "admin": stack.enter_context(tickets.admin()),
        }
        self.db = stack.enter_context(psycopg.connect(tickets.database, autocommit=True, row_factory=dict_row))
        # The open demand duplicates are merged into (it stays open: merges only close the duplicate).
        self.survivor_id = self.clients["merchant"].tickets.submit_ticket(**demand(self.merchant_id))["ticket_id"]

    def _document(self, ticket_id, returned):
        return str(
            self.db.execute(
                "SELECT id FROM custody_items WHERE ticket_id = %s AND (returned_at IS NOT NULL) = %s"
                " ORDER BY received_at DESC, id LIMIT 1",
                (ticket_id, returned),
            ).fetchone()["id"]
        )

    def call(self, kind, method, ticket_id, arguments):
        placeholders = {
            "<colleague>": lambda: self.colleague_id,
            "<survivor>": lambda: self.survivor_id,
            "<held>": lambda: self._document(ticket_id, returned=False),
            "<returned>": lambda: self._document(ticket_id, returned=True),
        }
        arguments = {k: (placeholders[v]() if v in placeholders else v) for k, v in arguments.items()}
        if method == "add_child_task":
            target = {"parent_id": ticket_id}
        elif method in ON_DOCUMENTS:
            target = {}
        else:
            target = {"ticket_id": ticket_id}
        return getattr(self.clients[kind].tickets, method)(**target, **arguments)

    def ticket_in(self, state, task):
        """A new ticket in ``state``: a merchant's demand, or a task of a joint demand."""
        if task:
            parent = self.ticket_in("in_progress", task=False)
            ticket_id = self.call(
                "staff", "add_child_task", parent, {"unit": DISTRICTS[1], "title": "联办任务", "description": "协助"}
            )["ticket_id"]
        else:
            ticket_id = self.clients["merchant"].tickets.submit_ticket(**demand(self.merchant_id, category=CATEGORY))[
                "ticket_id"
            ]
        documents = self.clients["admin"].tickets
        for document in ("身份证复印件", "营业执照副本"):
            documents.receive_document(ticket_id=ticket_id, document=document, received_from="店主", location="柜A")
        documents.return_document(item_id=self._document(ticket_id, returned=False), returned_to="店主")
        for kind, method, arguments in PATHS[state]:
            self.call(kind, method, ticket_id, arguments)
        # Escalated once, as the SLA sweep does for an overdue demand: supervision has its case.
        self.db.execute("UPDATE tickets SET escalation_level = 1 WHERE id = %s", (ticket_id,))
        assert self.clients["admin"].tickets.get_ticket(ticket_id=ticket_id)["status"] == state
        return ticket_id

    def snapshot(self, ticket_id):
        """All a command could change: the ticket's row, and how many tickets, timeline lines and
        events there are."""
        ticket = self.db.execute("SELECT * FROM tickets WHERE id = %s", (ticket_id,)).fetchone()
        counts = self.db.execute(
            "SELECT (SELECT count(*) FROM tickets) AS tickets, (SELECT count(*) FROM timeline) AS timeline,"
            " (SELECT count(*) FROM outbox) AS events"
        ).fetchone()
        return ticket, counts


def _callers(allow):
    """The kinds of caller the method's roles admit, among a merchant, district staff and an admin."""
    if not allow:
        return ["merchant", "staff", "admin"]
    return [kind for kind, role in (("merchant", "merchant"), ("staff", "staff"), ("admin", "admin")) if role in allow]


@pytest.mark.parametrize("task", [False, True], ids=["demand", "joint-task"])
def test_every_command_on_a_ticket_in_every_state_answers_typed_and_a_refusal_changes_nothing(tickets, task):
    failures, done, refused = [], set(), 0
    with ExitStack() as stack:
        world = World(tickets, stack)
        for state in PATHS:
            ticket_id = world.ticket_in(state, task)
            for method, allow in _commands():
                for kind in _callers(allow):
                    for arguments in COMMANDS[method]:
                        before = world.snapshot(ticket_id)
                        label = f"{method}({arguments}) by {kind} on a {state} ticket"
                        try:
                            result = world.call(kind, method, ticket_id, arguments)
                        except AllianceError:
                            refused += 1
                            if world.snapshot(ticket_id) != before:
                                failures.append(f"{label}: refused, but changed the data")
                            continue
                        except Exception as exc:  # noqa: BLE001 - what the test exists to catch
                            failures.append(f"{label}: {type(exc).__name__} {exc}")
                            continue
                        done.add(method)
                        if not (isinstance(result, dict) and result.get("ticket_id")):
                            failures.append(f"{label}: answered {result!r}")
                        # The command did something: the next one needs a ticket in this state again.
                        ticket_id = world.ticket_in(state, task)
    assert not failures, "\n".join(failures)
    # Each command was called right, somewhere: it did its work in some state (a task is not split
    # further; only a task is refused by its unit).
    assert set(COMMANDS) - done == ({"add_child_task", "merge_ticket"} if task else {"refuse_task"})
    assert refused
