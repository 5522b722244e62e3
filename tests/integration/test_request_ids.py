"""A caller's request id (idempotency key): a retried command is answered, not carried out again.

Written as a caller in another system would use it from the contract: the same ``request_id`` for
every attempt of one logical call (``nameko.request_id`` on the wire; ``with_request_id`` or the
client's own retries in Python).
"""

import pytest
from kombu import Connection, Exchange, Queue

from alliance_platform.errors import Conflict, ServiceUnavailable, ValidationError
from alliance_platform.rpc import AllianceClient
from tests.support.helpers import query


def _items(container):
    return query(container.config["DATABASE_URL"], "SELECT id FROM probe_items ORDER BY created_at")


def test_a_command_repeated_with_its_request_id_is_answered_and_not_carried_out_again(probe, client):
    with client() as alliance:
        first = alliance.probe.record_any.with_request_id("crm-order-1")(aggregate="x")
        again = alliance.probe.record_any.with_request_id("crm-order-1")(aggregate="x")
        other = alliance.probe.record_any.with_request_id("crm-order-2")(aggregate="x")
    assert again == first and other != first
    assert [r["id"] for r in _items(probe)] == [first["item_id"], other["item_id"]]
    events = query(probe.config["DATABASE_URL"], "SELECT count(*) AS n FROM outbox")[0]["n"]
    assert events == 2, "the repeated call published nothing"


def test_a_repeated_command_that_would_now_be_refused_gets_its_first_answer(probe, client):
    with client() as alliance:
        first = alliance.probe.record_item.with_request_id("once")(item_id="unique-item")
        # Run again, the use case would fail (the item exists): the caller gets the stored answer.
        assert alliance.probe.record_item.with_request_id("once")(item_id="unique-item") == first
        with pytest.raises(Conflict):  # the same call under a new id is a new call, and refused
            alliance.probe.record_item(item_id="unique-item")


def test_the_same_request_id_with_other_arguments_is_a_conflict(probe, client):
    with client() as alliance:
        alliance.probe.record_any.with_request_id("k-1")(aggregate="x")
        with pytest.raises(Conflict, match="different call"):
            alliance.probe.record_any.with_request_id("k-1")(aggregate="y")
    assert len(_items(probe)) == 1


def test_request_ids_are_the_callers_own(probe, client, tokens):
    other_system = tokens.issue("crm", "system", roles=["system"], districts=["*"])
    with client() as alliance, client(other_system) as crm:
        mine = alliance.probe.record_any.with_request_id("42")(aggregate="x")
        theirs = crm.probe.record_any.with_request_id("42")(aggregate="x")
    assert mine != theirs and len(_items(probe)) == 2


def test_two_attempts_in_flight_at_once_carry_the_command_out_once(probe, client):
    """The first attempt is still working when the caller, timed out, tries again."""
    with client() as alliance:
        method = alliance.probe.record_any.with_request_id("twin")
        first = method.call_async(aggregate="x", sleep=0.5)
        second = method.call_async(aggregate="x", sleep=0.5)
        answers = [first.result(), second.result()]
    assert answers[0] == answers[1]
    assert [r["id"] for r in _items(probe)] == [answers[0]["item_id"]]


def test_a_request_id_has_a_bound(probe, client):
    with client() as alliance, pytest.raises(ValidationError) as refused:
        alliance.probe.record_any.with_request_id("x" * 129)(aggregate="x")
    assert "request_id" in refused.value.fields
    assert _items(probe) == []


def test_on_the_wire_the_request_id_is_a_message_header(probe, admin_token):
    """What a client in another language sends: the same header on each attempt, new messages."""
    exchange = Exchange("nameko-rpc", type="topic", durable=True)
    with Connection(probe.config["AMQP_URI"]) as conn:
        replies = Queue("wire-replies", exchange=exchange, routing_key="wire-replies", durable=False)
        replies(conn.default_channel).declare()
        answers = []
        for attempt in range(2):
            conn.Producer().publish(
                {"args": [], "kwargs": {"aggregate": "wire"}},
                exchange=exchange,
                routing_key="probe.record_any",
                correlation_id=f"attempt-{attempt}",
                reply_to="wire-replies",
                headers={"nameko.authorization": admin_token, "nameko.request_id": "mini-program-7"},
                serializer="json",
            )
            with conn.SimpleQueue(replies) as inbox:
                reply = inbox.get(timeout=10)
                reply.ack()
                answers.append(reply.payload)
    assert answers[0] == answers[1] and answers[0]["error"] is None
    assert len(_items(probe)) == 1


def test_opening_a_client_while_the_broker_is_down_is_unavailable(admin_token):
    with pytest.raises(ServiceUnavailable), AllianceClient("amqp://guest:guest@127.0.0.1:1/", admin_token):
        pass


def test_the_client_retries_a_call_with_the_same_request_id(probe, client):
    """A reply lost on the way back (the client gave up waiting): the client's retry is answered from
    the stored result, so the command ran once."""
    with client(timeout=0.4) as alliance:
        # The first attempt outlasts the client's timeout; it commits while the client waits to retry.
        answer = alliance.probe.record_any(aggregate="x", sleep_if_new=0.6)
    assert [r["id"] for r in _items(probe)] == [answer["item_id"]]
    stored = query(probe.config["DATABASE_URL"], "SELECT count(*) AS n FROM command_answers")[0]["n"]
    assert stored == 1
