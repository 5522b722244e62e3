"""Events: published after commit, in order, never lost, never processed twice in effect;
failing handlers retried with backoff and then dead-lettered for an operator to replay."""

import json
import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_waiter

from alliance_platform.deadletters import list_dead_letters, replay_dead_letters
from tests.support.helpers import envelope, publish, query, wait_until
from tests.support.probe import ProbeConsumer, ProbeService


@pytest.fixture
def services(container_factory, service_config):
    """A started probe producer and consumer, each with its own database."""
    producer = container_factory(ProbeService, service_config("probe", kind="probe"))
    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    consumer.start()  # its queue exists before anything is published
    producer.start()
    return producer, consumer


def _db(container):
    return container.config["DATABASE_URL"]


def _effects(container, item_id=None):
    if item_id is None:
        return query(_db(container), "SELECT item_id, aggregate, seq, event_id FROM probe_effects ORDER BY n")
    return query(_db(container), "SELECT * FROM probe_effects WHERE item_id = %s", (item_id,))


def _publish_raw(amqp_uri, body):
    publish(amqp_uri, "probe", "item_recorded", body)


def _envelope(item_id, event_id=None):
    return envelope("probe", "item_recorded", {"item_id": item_id, "aggregate": "a", "seq": 1}, event_id=event_id)


def test_a_committed_change_reaches_the_consumer_once(services, client):
    producer, consumer = services
    with entrypoint_waiter(consumer, "handle_probe_item_recorded"), client() as alliance:
        alliance.probe.record_item(item_id="one")
    assert [e["item_id"] for e in _effects(consumer)] == ["one"]
    outbox = query(_db(producer), "SELECT published_at, attempts FROM outbox")
    assert len(outbox) == 1 and outbox[0]["published_at"] is not None and outbox[0]["attempts"] == 0


def test_a_redelivered_event_has_no_second_effect(services, rabbit_config):
    _, consumer = services
    envelope = _envelope("twice")
    for _ in range(3):
        with entrypoint_waiter(consumer, "handle_probe_item_recorded"):
            _publish_raw(rabbit_config["AMQP_URI"], envelope)
    assert len(_effects(consumer, "twice")) == 1
    assert query(_db(consumer), "SELECT count(*) AS n FROM inbox")[0]["n"] == 1


def test_the_relay_publishes_each_aggregates_events_in_commit_order(container_factory, service_config, client):
    config = service_config("probe", kind="probe", OUTBOX_BATCH_SIZE=7)
    with Connection(config["AMQP_URI"]) as conn:
        tap = Queue("tap", exchange=Exchange("probe.events", type="topic", durable=True), routing_key="#")
        tap(conn.default_channel).declare()
        producer = container_factory(ProbeService, config)
        producer.start()
        with client() as alliance:
            for seq in range(1, 21):
                for aggregate in ("a", "b", "c"):
                    alliance.probe.record_item(item_id=f"{aggregate}{seq}", aggregate=aggregate, seq=seq)
        received = []
        with conn.SimpleQueue(tap) as queue:
            while len(received) < 60:
                message = queue.get(timeout=10)
                received.append(message.payload["payload"])
                message.ack()
    for aggregate in ("a", "b", "c"):
        assert [p["seq"] for p in received if p["aggregate"] == aggregate] == list(range(1, 21))


def test_an_unroutable_event_is_held_not_dropped_and_sent_once_a_queue_exists(
    container_factory, service_config, client
):
    config = service_config("probe", kind="probe")
    producer = container_factory(ProbeService, config)
    producer.start()
    with client() as alliance:
        alliance.probe.record_item(item_id="early")
    held = wait_until(
        lambda: query(config["DATABASE_URL"], "SELECT * FROM outbox WHERE last_error LIKE 'unroutable%%'"),
        message="the relay to record the unroutable event",
    )
    assert held[0]["published_at"] is None

    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    with entrypoint_waiter(consumer, "handle_probe_item_recorded", timeout=15):
        consumer.start()
    assert [e["item_id"] for e in _effects(consumer)] == ["early"]


def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered_and_replayed(services, client):
    producer, consumer = services
    amqp_uri = consumer.config["AMQP_URI"]
    query(_db(consumer), "INSERT INTO probe_failures VALUES ('flaky') RETURNING item_id")
    attempts = []

    def failed(worker_ctx, result, exc_info):
        attempts.append(time.monotonic())
        return len(attempts) == 3

    with entrypoint_waiter(consumer, "handle_probe_item_recorded", callback=failed, timeout=15):
        with client() as alliance:
            alliance.probe.record_item(item_id="flaky")

    # One try and one retry per configured delay (50 ms, 100 ms), each after its delay.
    assert attempts[1] - attempts[0] >= 0.05 and attempts[2] - attempts[1] >= 0.1
    letters = wait_until(lambda: list_dead_letters(amqp_uri, "probe_consumer"), message="the dead letter")
    assert len(letters) == 1
    letter = letters[0]
    assert letter.attempts == 3 and "marked to fail" in letter.error
    assert letter.handler == "probe_consumer.handle_probe_item_recorded" and letter.event_type == "item_recorded"
    assert list_dead_letters(amqp_uri, "probe_consumer") == letters, "listing must not consume"
    assert _effects(consumer, "flaky") == []

    query(_db(consumer), "DELETE FROM probe_failures RETURNING item_id")
    with entrypoint_waiter(consumer, "handle_probe_item_recorded"):
        assert [r.id for r in replay_dead_letters(amqp_uri, "probe_consumer")] == [letter.id]
    assert len(_effects(consumer, "flaky")) == 1
    assert list_dead_letters(amqp_uri, "probe_consumer") == []


def test_a_message_that_breaks_its_contract_is_dead_lettered_at_once(services, rabbit_config):
    _, consumer = services
    amqp_uri = rabbit_config["AMQP_URI"]
    bad = {**_envelope("bad"), "payload": {"item_id": "bad"}}  # aggregate and seq missing
    _publish_raw(amqp_uri, bad)
    _publish_raw(amqp_uri, "not even an object")
    letters = wait_until(
        lambda: (found := list_dead_letters(amqp_uri, "probe_consumer")) and len(found) == 2 and found,
        message="both messages dead-lettered",
    )
    assert all(letter.attempts == 0 for letter in letters)
    invalid_payload, not_an_object = sorted(letters, key=lambda letter: "must be an object" in letter.error)
    assert "payload is invalid" in invalid_payload.error and "must be an object" in not_an_object.error
    assert json.loads(invalid_payload.body)["payload"] == {"item_id": "bad"}
    assert _effects(consumer) == []
