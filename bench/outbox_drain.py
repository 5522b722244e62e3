"""Scenario ``outbox``: how fast the relay drains a burst of committed events.

A burst of ``merchant_registered`` events is committed in one transaction while the registry runs;
its relay wakes on the commit's NOTIFY, and the figure is events per second from the commit to the
last ``published_at`` (both read from the database clock). The baseline publishes the very same
messages (body, properties, ``mandatory``) straight to an exchange of the same kind bound to the
same durable queue, with pipelined publisher confirms: the broker's share of the relay's work.
Goal: ≥ 0.8× that baseline for a burst whose events are each of its own aggregate (a demand, an
activity, a merchant each: the usual burst). A second burst puts 100 events on each of 100
aggregates, reported: an aggregate's events leave one confirm round trip apart (the order
guarantee), so its figure says what that guarantee costs, not how fast the relay is.

The cost of quorum queues (what the platform declares for event handlers, replicated on every node
of a cluster): the same messages published with confirms into a quorum queue beside the classic
durable one, on this single node (reported; deploy/README's "How far one instance goes").
"""

import time
import uuid
from datetime import UTC, datetime

from amqp import Message
from kombu import Connection

from alliance_platform.store import make_pool, transaction
from alliance_registry.domain.identifiers import make_credit_code

from .environment import EVENTS_EXCHANGE, EVENTS_SINK, BenchError
from .report import Result, progress

GOAL_RATIO = 0.8  # of the raw publish with confirms
# The second burst spreads its events over this many merchants (100 events each): the relay sends an
# aggregate's next event only once the broker confirmed the one before (docs/CONTRACT.md, "Order"),
# so that burst costs at least 100 confirm round trips, whatever the relay's own speed.
ORDERED_AGGREGATES = 100
WARMUP_EVENTS = 10
BASELINE_EXCHANGE = "bench.baseline_events"
QUORUM_EXCHANGE, QUORUM_SINK = "bench.baseline_events_quorum", "bench_events_sink_quorum"
DRAIN_TIMEOUT = 300  # seconds: a slow relay is a figure to report, a stuck one an error


def _merchant_registered(merchant_id, serial, registered_at):
    return {
        "merchant_id": merchant_id,
        "shop_name": f"压测商户{serial}",
        "district_id": "wholesale_city",
        "unit_no": f"B2-{serial % 1000:03d}",
        "category": "五金建材",
        "credit_code": make_credit_code(f"91371400{serial:09d}"),
        "contact_phone": None,
        "online_shop_url": None,
        "status": "active",
        "registered_at": registered_at,
    }


def _commit_events(pool, count, aggregates):
    """Commit ``count`` events of ``aggregates`` merchants in one transaction; returns the database
    clock just after the commit."""
    merchants = [str(uuid.uuid4()) for _ in range(aggregates)]
    registered_at = datetime.now(UTC)
    with transaction(pool, "registry") as session:
        for serial in range(count):
            merchant_id = merchants[serial % aggregates]
            payload = _merchant_registered(merchant_id, serial, registered_at)
            session.publish("merchant_registered", payload, aggregate_id=merchant_id)
    with pool.connection() as conn:
        return conn.execute("SELECT clock_timestamp() AS now").fetchone()["now"]


def _wait_drained(pool):
    """Wait until the relay has published every committed event; returns the last ``published_at``."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        with pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE published_at IS NULL) AS left, max(published_at) AS last FROM outbox"
            ).fetchone()
        if row["left"] == 0:
            return row["last"]
        if time.monotonic() > deadline:
            raise BenchError(f"outbox not drained after {DRAIN_TIMEOUT}s: {row['left']} events unpublished")
        time.sleep(0.02)


def _expect_in_sink(env, count, publisher):
    received, _ = env.queue_counts(EVENTS_SINK)
    if received != count:
        raise BenchError(f"{publisher}: {received} messages reached {EVENTS_SINK}, expected {count}")


class _Confirms:
    """Tags the broker confirmed; one ack with ``multiple`` confirms every tag up to its own."""

    def __init__(self):
        self.all_up_to = 0
        self._single = set()

    def ack(self, delivery_tag, multiple):
        if multiple:
            self.all_up_to = max(self.all_up_to, delivery_tag)
        else:
            self._single.add(delivery_tag)
        while self.all_up_to + 1 in self._single:
            self.all_up_to += 1

    def nack(self, delivery_tag, multiple):
        raise BenchError(f"the broker nacked baseline message {delivery_tag}")


def _publish_with_confirms(amqp_uri, rows, exchange=BASELINE_EXCHANGE, queue=EVENTS_SINK):
    """Events per second publishing ``rows`` as the relay would, in one pipelined burst."""
    with Connection(amqp_uri, heartbeat=0) as connection:
        channel = connection.channel()
        channel.exchange_declare(exchange, EVENTS_EXCHANGE.type, durable=True, auto_delete=False)
        channel.queue_bind(queue, exchange, "#")
        channel.confirm_select()
        confirms = _Confirms()
        channel.events["basic_ack"].add(confirms.ack)
        channel.events["basic_nack"].add(confirms.nack)
        started = time.perf_counter()
        for row in rows:
            message = Message(
                row["body"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=row["event_id"].hex,
            )
            channel.basic_publish(message, exchange=exchange, routing_key=row["event_type"], mandatory=True)
        while confirms.all_up_to < len(rows):
            connection.drain_events(timeout=30)
        return len(rows) / (time.perf_counter() - started)


def _publish_to_quorum(amqp_uri, rows):
    """The same burst into a quorum queue of its own (deleted afterwards): events per second."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        channel.queue_declare(QUORUM_SINK, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
    try:
        rate = _publish_with_confirms(amqp_uri, rows, QUORUM_EXCHANGE, QUORUM_SINK)
        with Connection(amqp_uri) as connection:
            _, received, _ = connection.channel().queue_declare(QUORUM_SINK, passive=True)
        if received != len(rows):
            raise BenchError(f"quorum baseline: {received} messages reached {QUORUM_SINK}, expected {len(rows)}")
        return rate
    finally:
        with Connection(amqp_uri) as connection:
            connection.channel().queue_delete(QUORUM_SINK)


def _drain(env, pool, count, aggregates):
    """Commit a burst of ``count`` events over ``aggregates`` merchants; the relay's events per second."""
    committed_at = _commit_events(pool, count, aggregates)
    published_at = _wait_drained(pool)
    rate = count / (published_at - committed_at).total_seconds()
    _expect_in_sink(env, count, "outbox relay")
    env.purge(EVENTS_SINK)
    progress(f"outbox  relay     {count:,} events of {aggregates:,} aggregates  {rate:,.0f} events/s")
    return rate


def run(env, quick):
    count = 2_000 if quick else 10_000
    env.start_registry()
    pool = make_pool(env.registry_db, max_size=2, name="bench")
    pool.open()
    try:
        # The relay opens its broker channel on its first batch: not part of the figure.
        _commit_events(pool, WARMUP_EVENTS, WARMUP_EVENTS)
        _wait_drained(pool)
        env.purge(EVENTS_SINK)
        # A running service's outbox has statistics from when it was small and fully published, and
        # a burst meets the query plans they give. Without them the figure would depend on whether
        # autovacuum happened to analyse the fresh table during this run.
        with pool.connection() as conn:
            conn.execute("ANALYZE outbox")
        spread = _drain(env, pool, count, count)
        ordered = _drain(env, pool, count, ORDERED_AGGREGATES)
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT event_id, event_type, body FROM outbox ORDER BY id DESC LIMIT %s", (count,)
            ).fetchall()
    finally:
        pool.close()

    baseline = _publish_with_confirms(env.amqp_uri, rows[::-1])
    _expect_in_sink(env, count, "baseline")
    env.purge(EVENTS_SINK)
    progress(f"outbox  baseline  {count:,} events  {baseline:,.0f} events/s")
    quorum = _publish_to_quorum(env.amqp_uri, rows[::-1])
    progress(f"outbox  quorum    {count:,} events  {quorum:,.0f} events/s")
    return [
        Result(
            scenario="outbox",
            variant=f"drain {count:,}, each event its own aggregate",
            unit="events/s",
            figure=spread,
            baselines={"kombu confirms": baseline},
            compared_to="kombu confirms",
            goal=f"≥ {GOAL_RATIO}× kombu confirms",
            met=spread >= GOAL_RATIO * baseline,
        ),
        Result(
            scenario="outbox",
            variant=f"drain {count:,} of {ORDERED_AGGREGATES} aggregates, in order",
            unit="events/s",
            figure=ordered,
            baselines={"kombu confirms": baseline},
            compared_to="kombu confirms",
            goal="reported: an aggregate's events wait for each other's confirm",
            met=True,
        ),
        Result(
            scenario="outbox",
            variant=f"publish {count:,} with confirms into a quorum queue",
            unit="events/s",
            figure=quorum,
            baselines={"classic durable queue": baseline},
            compared_to="classic durable queue",
            goal="reported",
            met=True,
        ),
    ]
