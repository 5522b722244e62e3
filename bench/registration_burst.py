"""Scenario ``events``: a registration burst — 2,000 registrations from 20 concurrent callers for an
activity with 500 seats. It must end with exactly 500 confirmed and 1,500 waiting, the waiting list
in arrival order; registrations/s beside the same work without the platform in the same run: the
statements the events service ran for those registrations replayed raw into a twin database by 20
connections (the same row lock on the activity serialises them), plus the bare nameko echo called
the same way (20 callers) (``composite.py``). Goal: ≥ 0.8× the composite.
"""

import time
from datetime import UTC, datetime, timedelta

import eventlet
import psycopg
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from alliance_platform.rpc import AllianceClient

from . import composite, services
from .report import Result, progress

CALLERS, SEATS, GOAL_RATIO, TIMEOUT = 20, 500, 0.8, 30
REGISTER = "events.register"


def _activity():
    now = datetime.now(UTC)
    return {
        "title": "压测：端午促销报名",
        "type": "themed_promotion",
        "description": "bench",
        "organisers": ["outlets"],
        "venue": "德百奥莱广场",
        "starts_at": (now + timedelta(days=7)).isoformat(),
        "ends_at": (now + timedelta(days=7, hours=4)).isoformat(),
        "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
        "registration_closes_at": (now + timedelta(days=6)).isoformat(),
        "capacity": SEATS,
        "audience": {"kinds": ["merchants"], "districts": []},
        "theme_tags": ["bench"],
    }


def _burst(amqp_uri, token, total, call):
    """``total`` calls split over ``CALLERS`` callers, each with its own connection; calls/s."""
    per_caller = total // CALLERS

    def caller(number):
        with (
            AllianceClient(amqp_uri, token, timeout=TIMEOUT) as alliance,
            ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=TIMEOUT) as cluster,
        ):
            for n in range(per_caller):
                call(alliance, cluster, number * per_caller + n)

    started = time.perf_counter()
    list(eventlet.GreenPool(CALLERS).imap(caller, range(CALLERS)))
    return total / (time.perf_counter() - started)


def run(env, quick):
    total = 400 if quick else 2000
    seats = SEATS * total // 2000
    database = services.fresh_database(env, "events")
    twin = services.fresh_database(env, "events", twin=True)
    with Connection(env.amqp_uri) as conn:
        Queue("bench_registrations_sink", Exchange("events.events", "topic", durable=True), "#", max_length=1000)(
            conn.default_channel
        ).declare()
    services.start(env, "events", database, record=True)
    env.start_nameko_echo()
    token = services.token()
    with AllianceClient(env.amqp_uri, token, timeout=TIMEOUT) as alliance:
        created = alliance.events.create_activity(**{**_activity(), "capacity": seats})
        alliance.events.publish_activity(activity_id=created["activity_id"])
    activity_id = created["activity_id"]
    # The twin gets the activity as the service wrote it (and whatever else it committed so far).
    composite.replay(twin, composite.recordings(env, "events"), 1)

    def register(alliance, cluster, n):
        alliance.events.register(activity_id=activity_id, person_id=f"bench-{n:05d}", district_id="outlets")

    def echo(alliance, cluster, n):
        cluster.bench_echo.echo({"activity_id": activity_id, "person_id": f"bench-{n:05d}"})

    progress(f"events  {total:,} registrations from {CALLERS} callers for {seats} seats")
    rate = _burst(env.amqp_uri, token, total, register)
    baseline = _burst(env.amqp_uri, token, total, echo)
    recorded = composite.recordings(env, "events", REGISTER)
    if len(recorded) != total:
        raise AssertionError(f"{len(recorded)} registrations recorded, {total} made")
    sql_rate = composite.replay(twin, recorded, CALLERS)
    both = composite.rate(sql_rate, baseline)
    per_call, trips = composite.statements(recorded)
    progress(f"events  a registration: {per_call:.0f} statements in {trips:.0f} round trips (BEGIN, COMMIT counted)")
    with psycopg.connect(database) as conn:
        counts = dict(conn.execute("SELECT status, count(*) FROM registrations GROUP BY status").fetchall())
        # Registrations are decided one at a time under the activity's lock: the waiting list is the
        # order they were decided in, one place each, no gaps.
        positions = [
            row[0]
            for row in conn.execute(
                "SELECT position FROM registrations WHERE status = 'waitlisted' ORDER BY position"
            ).fetchall()
        ]
        order = positions == list(range(1, total - seats + 1))
    with psycopg.connect(twin) as conn:
        replayed = dict(conn.execute("SELECT status, count(*) FROM registrations GROUP BY status").fetchall())
    if replayed != counts:
        raise AssertionError(f"the twin holds {replayed} after the replay, the service's database {counts}")
    if counts != {"confirmed": seats, "waitlisted": total - seats} or not order:
        raise AssertionError(f"registrations ended as {counts}, waiting list places 1..n: {order}")
    progress(f"events  {counts['confirmed']} confirmed, {counts['waitlisted']} waiting, in order")
    return [
        Result(
            scenario="events",
            variant=f"register burst {total:,} / {seats} seats",
            unit="calls/s",
            figure=rate,
            baselines={"same SQL + echo": both, "same SQL raw": sql_rate, "nameko echo": baseline},
            compared_to="same SQL + echo",
            goal=f"≥ {GOAL_RATIO}× same SQL + echo",
            met=rate >= GOAL_RATIO * both,
        )
    ]
