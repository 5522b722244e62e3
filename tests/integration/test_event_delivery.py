"""Events: published after commit, in order, never lost, never processed twice in effect;
failing handlers retried with backoff and then dead-lettered for an operator to replay."""

import json
import time
import urllib.request

import pytest
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_waiter

from alliance_ops.deadletters import list_dead_letters, replay_dead_letters
from alliance_platform.entrypoints import event_handler
from alliance_platform.metrics import metrics_of
from alliance_platform.service import AllianceService
from tests.support.helpers import envelope, get_json, http_port, publish, query, wait_until
from tests.support.probe import ProbeConsumer, ProbeService


class DeferringConsumer(AllianceService):
    """A handler whose only statement is deferred (its result unread): its claim goes with the commit."""

    name = "probe_deferring"

    @event_handler("probe", "item_recorded")
    def handle_probe_item_recorded(self, event):
        item = event.payload
        self.db.defer(
            "INSERT INTO probe_effects (item_id, aggregate, seq, event_id) VALUES (%s, %s, %s, %s)",
            (item["item_id"], item["aggregate"], item["seq"], event.event_id),
        )


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


def test_the_relay_and_the_consumer_report_how_long_each_event_took(services, client):
    producer, consumer = services
    with entrypoint_waiter(consumer, "handle_probe_item_recorded"), client() as alliance:
        alliance.probe.record_item(item_id="timed")
    registry = metrics_of(producer).registry
    labels = {"service": producer.service_name}
    assert registry.get_sample_value("alliance_outbox_wait_seconds_count", labels) == 1
    waited = registry.get_sample_value("alliance_outbox_wait_seconds_sum", labels)
    assert 0 < waited < 30  # from the transaction's start to the relay's read, on the database clock
    registry = metrics_of(consumer).registry
    labels = {"service": consumer.service_name, "handler": "handle_probe_item_recorded"}
    assert registry.get_sample_value("alliance_event_delay_seconds_count", labels) == 1
    delay = registry.get_sample_value("alliance_event_delay_seconds_sum", labels)
    assert 0 < delay < 30  # from occurred_at (the producer's clock) to the handler's commit


def test_a_redelivered_event_has_no_second_effect(services, rabbit_config):
    _, consumer = services
    envelope = _envelope("twice")
    for _ in range(3):
        with entrypoint_waiter(consumer, "handle_probe_item_recorded"):
            _publish_raw(rabbit_config["AMQP_URI"], envelope)
    assert len(_effects(consumer, "twice")) == 1
    assert query(_db(consumer), "SELECT count(*) AS n FROM processed_events")[0]["n"] == 1


def test_a_duplicate_is_skipped_where_its_handler_would_fail_this_time(services, rabbit_config):
    """The claim rides with the handler's first statement, which a second delivery of a handled
    event is stopped at: skipped, not failed, though the rest of its handler would fail now."""
    _, consumer = services
    envelope = _envelope("again")
    with entrypoint_waiter(consumer, "handle_probe_item_recorded"):
        _publish_raw(rabbit_config["AMQP_URI"], envelope)
    query(_db(consumer), "INSERT INTO probe_failures VALUES ('again') RETURNING item_id")
    outcomes = []

    def settled(worker_ctx, result, exc_info):
        outcomes.append(exc_info)
        return True

    with entrypoint_waiter(consumer, "handle_probe_item_recorded", callback=settled):
        _publish_raw(rabbit_config["AMQP_URI"], envelope)
    assert outcomes == [None], "the duplicate was skipped, not failed"
    assert len(_effects(consumer, "again")) == 1
    assert list_dead_letters(rabbit_config["AMQP_URI"], "probe_consumer") == []
    changes = query(_db(consumer), "SELECT count(*) AS n FROM changes WHERE command = 'handle_probe_item_recorded'")
    assert changes[0]["n"] == 1, "one audit row: the duplicate's went with its rollback"


def test_a_duplicate_whose_claim_goes_with_the_commit_is_skipped_not_failed(
    container_factory, service_config, rabbit_config
):
    consumer = container_factory(DeferringConsumer, service_config("probe_deferring", kind="probe"))
    consumer.start()
    envelope = _envelope("deferred")
    outcomes = []

    def settled(worker_ctx, result, exc_info):
        outcomes.append(exc_info)
        return True

    for _ in range(3):
        with entrypoint_waiter(consumer, "handle_probe_item_recorded", callback=settled):
            _publish_raw(rabbit_config["AMQP_URI"], envelope)
    assert outcomes == [None, None, None], "the duplicates were skipped, not failed"
    assert len(_effects(consumer, "deferred")) == 1
    assert query(_db(consumer), "SELECT count(*) AS n FROM changes")[0]["n"] == 1
    assert list_dead_letters(rabbit_config["AMQP_URI"], "probe_deferring") == []


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


def _outbox(container):
    return query(
        _db(container),
        "SELECT event_type, payload->>'item_id' AS item_id, published_at, unrouted, attempts, last_error"
        " FROM outbox, LATERAL (SELECT (body::jsonb)->'payload' AS payload) p ORDER BY id",
    )


def test_an_event_nobody_subscribes_to_is_published_unrouted_and_holds_nothing_back(services, client):
    producer, consumer = services  # the consumer handles item_recorded; nobody handles item_noted
    with client() as alliance:
        alliance.probe.record_sequence(aggregate="q", events=["noted", "recorded", "noted", "recorded"])
    wait_until(lambda: len(_effects(consumer)) == 2, message="both item_recorded events handled")
    assert [e["item_id"] for e in _effects(consumer)] == ["q-2", "q-4"]

    rows = wait_until(
        lambda: (rows := _outbox(producer)) and all(r["published_at"] for r in rows) and rows,
        message="every outbox row published",
    )
    assert [(r["event_type"], r["unrouted"]) for r in rows] == [
        ("item_noted", True),
        ("item_recorded", False),
        ("item_noted", True),
        ("item_recorded", False),
    ]
    assert all(r["attempts"] == 0 and r["last_error"] is None for r in rows), "never retried, never failing"

    status, ready = get_json(f"http://127.0.0.1:{http_port(producer)}/health/ready")
    assert status == 200 and ready["outbox"] == {"backlog": 0, "failing": 0, "oldest_seconds": 0.0}
    assert ready["relay"]["state"] == "publishing"
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port(producer)}/metrics") as response:
        metrics = response.read().decode()
    assert 'alliance_outbox_unrouted_total{event_type="item_noted",service="probe"} 2.0' in metrics
    assert 'alliance_outbox_failing{service="probe"} 0.0' in metrics


def test_a_late_subscriber_gets_what_is_published_after_its_queue_exists(container_factory, service_config, client):
    producer = container_factory(ProbeService, service_config("probe", kind="probe"))
    producer.start()
    with client() as alliance:
        alliance.probe.record_item(item_id="early")
    wait_until(lambda: _outbox(producer)[0]["published_at"], message="the early event published")
    assert _outbox(producer)[0]["unrouted"] is True

    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    consumer.start()  # declares its queue: from now on it gets item_recorded events
    with entrypoint_waiter(consumer, "handle_probe_item_recorded", timeout=15), client() as alliance:
        alliance.probe.record_item(item_id="late")
    assert [e["item_id"] for e in _effects(consumer)] == ["late"]


def test_an_event_the_broker_refuses_holds_back_the_later_events_of_its_aggregate_only(
    container_factory, service_config, client
):
    config = service_config("probe", kind="probe")
    exchange = Exchange("probe.events", type="topic", durable=True)
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.default_channel
        tap = Queue("tap", exchange=exchange, routing_key="item_recorded")
        tap(channel).declare()
        # A full queue that refuses every message: the broker nacks each item_noted it would route.
        refusing = Queue(
            "refusing",
            exchange=exchange,
            routing_key="item_noted",
            queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
        )
        refusing(channel).declare()
        producer = container_factory(ProbeService, config)
        producer.start()
        with client() as alliance:
            # One transaction, so one batch of the relay: a-1, a-2 (refused), a-3 — and b-1.
            alliance.probe.record_sequence(aggregate="a", events=["recorded", "noted", "recorded"])
            alliance.probe.record_sequence(aggregate="b", events=["recorded"])

        def by_item():
            return {r["item_id"]: r for r in _outbox(producer)}

        # a-2 refused and retried at least once: a-3 had every chance to overtake it, and did not.
        wait_until(lambda: by_item()["a-2"]["attempts"] >= 2, message="the refused event retried")
        rows = by_item()
        assert "nacked" in rows["a-2"]["last_error"] and rows["a-2"]["published_at"] is None
        assert rows["a-3"]["published_at"] is None, "a later event of the aggregate went ahead of a refused one"
        assert rows["a-1"]["published_at"] and rows["b-1"]["published_at"], "other events are not held back"

        refusing(channel).delete()  # the refusal ends: a-2 goes out (to nobody), then a-3
        rows = wait_until(
            lambda: (rows := by_item())["a-3"]["published_at"] and rows, message="the held event published"
        )
        assert rows["a-2"]["published_at"] <= rows["a-3"]["published_at"]
        received = []
        with conn.SimpleQueue(tap) as queue:
            while len(received) < 3:
                message = queue.get(timeout=10)
                received.append(message.payload["payload"]["item_id"])
                message.ack()
    assert [item for item in received if item.startswith("a-")] == ["a-1", "a-3"]
    assert sorted(received) == ["a-1", "a-3", "b-1"]


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
