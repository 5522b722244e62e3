"""Scenario ``scaleout``: two processes of ``tickets`` beside one, on the same database and queues.

- submissions per second with 20 in flight (the RPC queue's consumers compete; each process has
  its 10 workers);
- handler throughput: a burst of ``merchant_registered`` events committed into the registry's
  outbox in one transaction, published by its relay and handled by the tickets processes (each
  event claimed once in ``processed_events``): events per second from the commit to the last claim.

The figure with two processes is printed beside the one with one, measured in the same run; on this
machine's two cores the database, the broker and the bench share them with the services, so the
ratio is what a second process buys here, not on a larger host. Goal: reported.
"""

import time
from statistics import median

import psycopg

from alliance_platform.rpc import AllianceClient
from alliance_platform.store import make_pool

from . import services
from .demand_desk import _seed_merchant, _sink, _submission
from .environment import EVENTS_SINK, BenchError
from .outbox_drain import _commit_events
from .report import Result, progress
from .rpc_roundtrip import measure

HANDLER = "tickets.handle_registry_merchant_registered"
HANDLER_QUEUE = f"evt-registry-merchant_registered--{HANDLER}"
SECOND_HTTP = "127.0.0.1:18106"
IN_FLIGHT, TIMEOUT, HANDLED_TIMEOUT = 20, 30, 300


def _wait_consumers(env, queue, count):
    deadline = time.monotonic() + 60
    while env.queue_counts(queue)[1] < count:
        if time.monotonic() > deadline:
            raise BenchError(f"{queue} has not {count} consumers after 60 s")
        time.sleep(0.1)


def _wait_consumers_down(env, queue, count):
    deadline = time.monotonic() + 60
    while env.queue_counts(queue)[1] > count:
        if time.monotonic() > deadline:
            raise BenchError(f"{queue} has more than {count} consumers after 60 s")
        time.sleep(0.1)


def _claimed(conn):
    return conn.execute("SELECT count(*) FROM processed_events WHERE handler = %s", (HANDLER,)).fetchone()[0]


def _handler_rate(registry_pool, tickets_db, count):
    with psycopg.connect(tickets_db, autocommit=True) as conn:
        before = _claimed(conn)
        started = time.perf_counter()
        _commit_events(registry_pool, count)
        deadline = started + HANDLED_TIMEOUT
        while _claimed(conn) < before + count:
            if time.perf_counter() > deadline:
                raise BenchError(f"{before + count - _claimed(conn)} events not handled after {HANDLED_TIMEOUT}s")
            time.sleep(0.01)
        return count / (time.perf_counter() - started)


def run(env, quick):
    calls, events, slices = (300, 1000, 1) if quick else (1500, 5000, 3)
    env.start_registry()
    database = services.fresh_database(env, "tickets")
    _sink(env)
    services.start(env, "tickets", database)
    merchant_id = _seed_merchant(database)
    registry = make_pool(env.registry_db, max_size=2, name="bench-scaleout")
    registry.open()
    figures = {}
    try:
        with AllianceClient(env.amqp_uri, services.token(), timeout=TIMEOUT) as alliance:
            payload = _submission(merchant_id)

            def send():
                return alliance.tickets.submit_ticket.call_async(**payload)

            # One, two, then one again: load from elsewhere on the box drifts, and the median of
            # the two single-process phases sets a drift aside.
            for processes in (1, 2, 1):
                if processes == 2:
                    env.start_service("tickets", database, SECOND_HTTP, queue=False, label="tickets_2")
                    _wait_consumers(env, "rpc-tickets", 2)
                    _wait_consumers(env, HANDLER_QUEUE, 2)
                elif "tickets_2" in env._processes:
                    env._stop("tickets_2")
                    _wait_consumers_down(env, "rpc-tickets", 1)
                measure(send, 100, IN_FLIGHT)
                _handler_rate(registry, database, 200)  # warm: connections, plans
                submits, handled = [], []
                for _ in range(slices):
                    submits.append(measure(send, calls // slices, IN_FLIGHT))
                    handled.append(_handler_rate(registry, database, events // slices))
                figures.setdefault(("submit", processes), []).extend(submits)
                figures.setdefault(("handle", processes), []).extend(handled)
                progress(
                    f"scaleout  {processes} process(es): submit {median(submits):,.0f}/s"
                    f" ({IN_FLIGHT} in flight), handler {median(handled):,.0f} events/s"
                )
    finally:
        registry.close()
    figures = {key: median(values) for key, values in figures.items()}
    env.purge(EVENTS_SINK)
    return [
        Result(
            scenario="scaleout",
            variant=variant,
            unit=unit,
            figure=figures[key, 2],
            baselines={"one process": figures[key, 1]},
            compared_to="one process",
            goal="reported",
            met=True,
        )
        for key, variant, unit in (
            ("submit", f"tickets ×2: submit, {IN_FLIGHT} in flight", "calls/s"),
            ("handle", "tickets ×2: merchant_registered handled", "events/s"),
        )
    ]
