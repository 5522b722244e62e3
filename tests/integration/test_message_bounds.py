"""Whole messages are bounded: an oversized request is refused with a typed error before it is
parsed, an oversized event goes to the dead letters at once; neither changes anything."""

import json
import time

import pytest
from kombu import Connection, Exchange, Queue

from alliance_ops.deadletters import list_dead_letters
from alliance_platform.errors import ValidationError
from tests.support.helpers import publish, query, wait_until
from tests.support.probe import ProbeConsumer, ProbeService


def test_an_oversized_request_is_refused_before_it_is_parsed(container_factory, service_config, client):
    container = container_factory(ProbeService, service_config("probe", kind="probe", RPC_MAX_REQUEST_BYTES=100_000))
    container.start()
    with client(timeout=10) as alliance:
        alliance.retries = 0
        began = time.monotonic()
        with pytest.raises(ValidationError, match="request too large") as refused:
            alliance.probe.record_item(item_id="big", aggregate="a" * 200_000)
        refused_in = time.monotonic() - began
        assert "at most 100000" in str(refused.value.fields["_message"])
        assert alliance.probe.record_item(item_id="small")["item_id"] == "small"  # the service goes on
    print(f"a 200 kB request refused in {refused_in * 1000:.0f} ms")
    assert [r["id"] for r in query(container.config["DATABASE_URL"], "SELECT id FROM probe_items")] == ["small"]


def test_a_method_may_take_larger_requests_than_the_default():
    from alliance_registry.service import RegistryService

    assert RegistryService.import_merchants.rpc_max_request_bytes > 20 * 1024 * 1024


def test_an_oversized_event_is_dead_lettered_unparsed(container_factory, service_config):
    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe", EVENT_MAX_BYTES=10_000))
    consumer.start()
    amqp_uri = consumer.config["AMQP_URI"]
    publish(amqp_uri, "probe", "item_recorded", {"padding": "x" * 20_000})
    letters = wait_until(lambda: list_dead_letters(amqp_uri, "probe_consumer"), message="the dead letter")
    assert "at most 10000" in letters[0].error and letters[0].attempts == 0
    assert query(consumer.config["DATABASE_URL"], "SELECT count(*) AS n FROM probe_effects")[0]["n"] == 0


def _raw_call(conn, replies, body, routing_key="probe.ping", **properties):
    """Publish one request as any AMQP client could, and return the reply (or None)."""
    exchange = Exchange("nameko-rpc", type="topic", durable=True)
    producer = conn.Producer()
    producer.publish(body, exchange=exchange, routing_key=routing_key, **properties)
    with conn.SimpleQueue(replies) as inbox:
        try:
            reply = inbox.get(timeout=10)
        except inbox.Empty:
            return None
        reply.ack()
        return reply


@pytest.mark.parametrize(
    ("body", "properties", "why"),
    [
        (b'{"args": [], "kwargs": {}}', {}, "no content type"),
        (b"hello", {"content_type": "text/plain"}, "a content type nobody accepts"),
        (b"{not json", {"content_type": "application/json"}, "a body that is not JSON"),
        (b'"a string"', {"content_type": "application/json"}, "JSON that is no request"),
        (b'{"args": {}, "kwargs": []}', {"content_type": "application/json"}, "args and kwargs swapped"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_malformed_request_gets_a_typed_answer_and_the_service_goes_on(
    container_factory, service_config, client, admin_token, body, properties, why
):
    container = container_factory(ProbeService, service_config("probe", kind="probe"))
    container.start()
    with Connection(container.config["AMQP_URI"]) as conn:
        replies = Queue(
            "raw-replies", exchange=Exchange("nameko-rpc", type="topic", durable=True), routing_key="raw-replies"
        )
        replies(conn.default_channel).declare()
        reply = _raw_call(
            conn,
            replies,
            body,
            reply_to="raw-replies",
            correlation_id="raw-1",
            headers={"nameko.authorization": admin_token},
            **properties,
        )
        assert reply is not None, f"{why}: no answer"
        answer = json.loads(reply.body)
        assert answer["result"] is None and answer["error"]["exc_type"] == "ValidationError", answer
        # And without reply_to nobody can be answered, but the service is not harmed either.
        conn.Producer().publish(
            b'{"args": [], "kwargs": {}}',
            exchange=Exchange("nameko-rpc", type="topic", durable=True),
            routing_key="probe.ping",
            content_type="application/json",
            headers={"nameko.authorization": admin_token},
        )
    with client() as alliance:
        assert alliance.probe.ping() == "pong", f"{why}: the service stopped answering"
