"""Scenario ``latency``: how soon an event is handled — from its commit to the consumer's commit.

The bench commits ``merchant_registered`` events into the registry's outbox (one per transaction,
as a registration does) while the registry runs; its relay publishes them and the tickets service's
handler (``handle_registry_merchant_registered``) writes its read model and claims the event in
``processed_events``, in one transaction. The figure for each event is the time from the bench's
commit returning to the moment the claim is visible in the tickets database (polled every
millisecond, every 5 ms under the stream, by one query for every event still outstanding): p50 and p95,

- *idle*: one event at a time, each after the one before was handled and a pause;
- *stream*: 200 commits a second, evenly spaced, open loop on up to 8 connections.

The relay gathers commits into a batch (``OUTBOX_GATHER_SECONDS``) only when more arrived while it
was publishing; a quiet system's event leaves at once. Goals: p95 < 10 ms idle, < 50 ms under the
stream. The drain rate of a burst is the ``outbox`` scenario's figure.

Where the time went, per phase, from the services' own histograms (``/metrics``): the relay's wait
(``alliance_outbox_wait_seconds``: from the event's transaction to the relay reading it) and the
whole way (``alliance_event_delay_seconds`` of the handler: from ``occurred_at`` to its commit),
their means; the rest is the broker, the consumer and the handler.

Reported beside them: the CPU time the tickets process spent per event under the stream (its
``/proc`` counters, so the figure is the handler path's cost whatever else the machine runs), and
the registry's (its relay) per event.
"""

import time
import uuid
from datetime import UTC, datetime
from statistics import median, quantiles

import eventlet
import requests

from alliance_platform.store import make_pool, transaction

from . import services
from .environment import EVENTS_SINK, REGISTRY_HTTP, BenchError, cpu_seconds
from .outbox_drain import _merchant_registered
from .report import Result, progress

HANDLER = "tickets.handle_registry_merchant_registered"
GOAL_IDLE_MS, GOAL_STREAM_MS, STREAM_RATE = 10, 50, 200
COMMITTERS = 8  # connections the stream commits on
HANDLED_TIMEOUT = 30
POLL = 0.001  # idle: the watcher's query every millisecond
STREAM_POLL = 0.005  # under the stream: one query every 5 ms (each a round trip the services' CPU pays for too)


class _Watch:
    """Polls the consumer's database for the claims of outstanding events; their handled times."""

    def __init__(self, pool):
        self._pool = pool
        self.poll = POLL
        self.committed, self.handled = {}, {}
        self._running = True
        self._thread = eventlet.spawn(self._poll)

    def _poll(self):
        with self._pool.connection() as conn:
            while self._running:
                waiting = [event_id for event_id in self.committed if event_id not in self.handled]
                if waiting:
                    rows = conn.execute(
                        "SELECT event_id FROM processed_events WHERE handler = %s AND event_id = ANY(%s)",
                        (HANDLER, waiting),
                    ).fetchall()
                    now = time.perf_counter()
                    for row in rows:
                        self.handled.setdefault(row["event_id"], now)
                eventlet.sleep(self.poll)

    def wait(self, count):
        deadline = time.monotonic() + HANDLED_TIMEOUT
        while len(self.handled) < count:
            if time.monotonic() > deadline:
                raise BenchError(f"{count - len(self.handled)} events not handled after {HANDLED_TIMEOUT}s")
            eventlet.sleep(0.002)

    def latencies_ms(self):
        return [(self.handled[e] - self.committed[e]) * 1000 for e in self.committed]

    def stop(self):
        self._running = False
        self._thread.wait()


def _histogram_totals(address, name, **labels):
    """(sum, count) of histogram ``name`` with ``labels`` on the /metrics of the service at ``address``."""
    wanted = {f'{key}="{value}"' for key, value in labels.items()}
    totals = {"sum": 0.0, "count": 0.0}
    for line in requests.get(f"http://{address}/metrics", timeout=10).text.splitlines():
        for part in totals:
            head = f"{name}_{part}{{"
            if line.startswith(head) and wanted <= set(line[len(head) : line.index("}")].split(",")):
                totals[part] = float(line.rsplit(" ", 1)[1])
    return totals["sum"], totals["count"]


class _Stages:
    """Means of the relay's wait and of the whole way, between two readings of the histograms."""

    def __init__(self, tickets_address):
        self._sources = {
            "relay": (REGISTRY_HTTP, "alliance_outbox_wait_seconds", {"service": "registry"}),
            "whole": (
                tickets_address,
                "alliance_event_delay_seconds",
                {"service": "tickets", "handler": HANDLER.split(".")[1]},
            ),
        }
        self._last = self._read()

    def _read(self):
        return {
            stage: _histogram_totals(address, name, **labels)
            for stage, (address, name, labels) in self._sources.items()
        }

    def since_last(self):
        """{stage: mean ms} since the last call (or since it was made)."""
        now, last = self._read(), self._last
        self._last = now
        means = {}
        for stage in now:
            seconds, count = now[stage][0] - last[stage][0], now[stage][1] - last[stage][1]
            means[stage] = seconds * 1000 / count if count else float("nan")
        return means


def _commit_one(pool, serial):
    merchant_id = str(uuid.uuid4())
    with transaction(pool, "registry") as session:
        event_id = session.publish(
            "merchant_registered",
            _merchant_registered(merchant_id, serial, datetime.now(UTC)),
            aggregate_id=merchant_id,
        )
    return uuid.UUID(event_id), time.perf_counter()


def _idle(registry, watch, count):
    for serial in range(count):
        event_id, at = _commit_one(registry, serial)
        watch.committed[event_id] = at
        watch.wait(len(watch.committed))
        eventlet.sleep(0.05)  # quiet between events: the relay is back waiting


def _stream(registry, watch, count, offset):
    """``count`` commits at ``STREAM_RATE`` a second, open loop: each starts on its schedule, on one
    of ``COMMITTERS`` connections, whether or not the ones before have returned."""
    interval = 1 / STREAM_RATE
    pool = eventlet.GreenPool(COMMITTERS)

    def commit(n):
        event_id, at = _commit_one(registry, offset + n)
        watch.committed[event_id] = at

    started = time.perf_counter()
    for n in range(count):
        pause = started + n * interval - time.perf_counter()
        if pause > 0:
            eventlet.sleep(pause)
        pool.spawn_n(commit, n)
    pool.waitall()
    rate = count / (time.perf_counter() - started)
    watch.wait(len(watch.committed))
    return rate


def _percentiles(values):
    return median(values), quantiles(values, n=20)[-1]


def run(env, quick):
    idle_events, stream_seconds = (30, 2) if quick else (200, 10)
    env.start_registry()
    database = services.fresh_database(env, "tickets")
    services.start(env, "tickets", database)
    registry = make_pool(env.registry_db, max_size=COMMITTERS, name="bench-latency-registry")
    consumer = make_pool(database, max_size=2, name="bench-latency-tickets")
    registry.open()
    consumer.open()
    results = []
    try:
        watch = _Watch(consumer)
        try:
            _idle(registry, watch, 5)  # connections and plans warm up
            env.restart_profile("tickets")  # under BENCH_PROFILE=tickets: the measured events only
            watch.committed.clear()
            watch.handled.clear()
            stages = _Stages(f"127.0.0.1:{services.PORTS['tickets']}")
            _idle(registry, watch, idle_events)
            idle = _percentiles(watch.latencies_ms())
            idle_stages = stages.since_last()
            watch.committed.clear()
            watch.handled.clear()
            watch.poll = STREAM_POLL
            pids = {name: env.pid(name) for name in ("tickets", "registry")}
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            rate = _stream(registry, watch, STREAM_RATE * stream_seconds, idle_events + 5)
            events = len(watch.committed)
            cpu_ms = {name: (cpu_seconds(pid) - before[name]) * 1000 / events for name, pid in pids.items()}
            stream = _percentiles(watch.latencies_ms())
            stream_stages = stages.since_last()
        finally:
            watch.stop()
    finally:
        registry.close()
        consumer.close()
    env.purge(EVENTS_SINK)
    progress(f"latency  idle p50 {idle[0]:.1f} ms p95 {idle[1]:.1f} ms")
    progress(f"latency  stream {rate:.0f} commits/s: p50 {stream[0]:.1f} ms p95 {stream[1]:.1f} ms")
    for phase, means in (("idle", idle_stages), ("stream", stream_stages)):
        progress(
            f"latency  {phase}: means of /metrics, occurred → handler's commit {means['whole']:.1f} ms,"
            f" of which waiting for the relay {means['relay']:.1f} ms"
        )
    progress(f"latency  CPU per event: tickets {cpu_ms['tickets']:.2f} ms, registry {cpu_ms['registry']:.2f} ms")
    for variant, (p50, p95), goal in (
        (f"commit → handled, idle ({idle_events} events), p95", idle, GOAL_IDLE_MS),
        (f"commit → handled, {STREAM_RATE} commits/s, p95", stream, GOAL_STREAM_MS),
    ):
        results.append(
            Result(
                scenario="latency",
                variant=variant,
                unit="ms",
                figure=p95,
                baselines={"p50": p50, "goal": goal},
                compared_to="goal",
                goal=f"p95 < {goal} ms",
                met=p95 < goal,
            )
        )
    results.append(
        Result(
            scenario="latency",
            variant="tickets process CPU per event handled, under the stream",
            unit="ms",
            figure=cpu_ms["tickets"],
            baselines={"relay's per event": cpu_ms["registry"]},
            compared_to="relay's per event",
            goal="reported",
            met=True,
        )
    )
    return results
