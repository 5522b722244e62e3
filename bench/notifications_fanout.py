"""Scenario ``notifications``: one ``activity_published`` fanned out to every merchant of its audience.

The registry runs on the city data of the ``registry`` scenario (``registry_scale.ensure_city``):
2,200 merchants in the alliance's three districts, 100,000 in the city. An audience names districts
of the alliance only (``DistrictId``), so the city-sized fan-out runs on a register of its own with
100,000 merchants in the three districts (``CITY_FANOUT_DISTRICTS``). The event is published to
``events.events`` as the events service would publish it; the figure is the wall time from the
publish to the moment the notification reads ``resolved`` — its deliveries (an inbox entry and an
SMS per merchant) commit in the same transaction, so that is the last row committed.

- 2,200 merchants (the alliance), beside a raw COPY of the same 4,400 delivery rows (an inbox entry
  and an SMS per merchant) into a table of the same shape and indexes, in the same run. Goal: < 0.5 s.
- 100,000 merchants (the city: 43 districts), beside a raw COPY of the same 200,000 delivery rows.
  Goal: ≤ 2× the raw COPY (and < 15 s).
  The service's peak memory (VmHWM, reset just before) is reported beside its resident size before.

The senders are held off (``DISPATCH_INTERVAL`` one hour): the figure is the fan-out, not the SMS
gateway. Each run uses a fresh ``alliance_bench_notifications`` database.
"""

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from kombu import Connection, Exchange
from psycopg import sql

from alliance_contracts import build_envelope
from alliance_notifications.storage import COPY_DELIVERIES, COPY_TYPES
from alliance_platform.config import service_package
from alliance_platform.migrate import apply

from .environment import BenchError, _with_path
from .registry_scale import ALLIANCE_DISTRICTS, MERCHANTS, ensure_city
from .report import Result, progress

DATABASE = "alliance_bench_notifications"
GOAL_ALLIANCE_S, GOAL_CITY_S, GOAL_CITY_RATIO = 0.5, 15.0, 2.0
# The city-sized fan-out's register: 100,000 merchants in the three districts (an audience names
# districts of the alliance only), their owners among 20,000 people.
CITY_FANOUT_PEOPLE = 20_000
CITY_FANOUT_DISTRICTS = {"wholesale_city": 60_000, "aodele": 20_000, "outlets": 20_000}
FANOUT_TIMEOUT = 120
EXCHANGE = Exchange("events.events", type="topic", durable=True)


def _fresh_database(admin_db):
    url = _with_path(admin_db, f"/{DATABASE}")
    with psycopg.connect(admin_db, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
    apply(url, ["alliance_platform", service_package("notifications")])
    return url


def _activity_published(districts):
    starts = datetime.now(UTC) + timedelta(days=7)
    activity_id = str(uuid.uuid4())
    payload = {
        "activity_id": activity_id,
        "title": "清明踏青野餐节",
        "type": "themed_promotion",
        "organisers": ["outlets", "wholesale_city", "aodele"],
        "venue": "德百奥莱广场中庭",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=8),
        "audience": {"kinds": ["merchants"], "districts": sorted(districts)},
        "theme_tags": ["野餐", "露营"],
        "capacity": 500,
        "registration_closes_at": starts - timedelta(days=1),
        "series_id": None,
    }
    return build_envelope(
        source="events",
        event_type="activity_published",
        version=1,
        payload=payload,
        event_id=uuid.uuid4().hex,
        occurred_at=datetime.now(UTC),
        correlation_id="bench",
        aggregate_id=activity_id,
        actor="system:bench",
    )


def _fan_out(env, conn, districts, expected):
    """Seconds from the publish to the committed fan-out of ``expected`` recipients."""
    envelope = _activity_published(districts)
    with Connection(env.amqp_uri) as broker:
        producer = broker.Producer()
        started = time.perf_counter()
        producer.publish(envelope, exchange=EXCHANGE, routing_key="activity_published", serializer="json")
    deadline = started + FANOUT_TIMEOUT
    while True:
        row = conn.execute(
            "SELECT status, recipients, last_error FROM notifications WHERE event_id = %s", (envelope["event_id"],)
        ).fetchone()
        if row is not None and row[0] != "resolving":
            elapsed = time.perf_counter() - started
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"no fan-out after {FANOUT_TIMEOUT}s: {row}")
        time.sleep(0.002)
    if row[0] != "resolved" or row[1] != expected:
        raise BenchError(f"fan-out ended {row[0]} with {row[1]} recipients, expected {expected}: {row[2]}")
    written = conn.execute(
        "SELECT count(*) FILTER (WHERE channel = 'inbox'), count(*) FILTER (WHERE channel = 'sms')"
        " FROM deliveries WHERE event_id = %s",
        (envelope["event_id"],),
    ).fetchone()
    if written != (expected, expected):
        raise BenchError(f"{written} inbox and SMS deliveries written, expected {expected} of each")
    return elapsed


def _raw_copy(conn, count):
    """Seconds to COPY the delivery rows of ``count`` recipients — an inbox entry and an SMS each, as
    the service writes them — into a table of the same shape and indexes (the service's own binary
    COPY, without the service around it), and commit."""
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    rows = [
        (
            1,
            event_id,
            recipient,
            channel,
            address,
            None,
            "zh-CN",
            False,
            "pending",
            False,
            now,
            None,
            now,
        )
        for n in range(count)
        for recipient in (f"merchant:{uuid.uuid4()}",)
        for channel, address in (("inbox", None), ("sms", f"150{n:08d}"))
    ]
    conn.execute("DROP TABLE IF EXISTS bench_copy")
    conn.execute("CREATE TABLE bench_copy (LIKE deliveries INCLUDING ALL)")
    conn.commit()
    started = time.perf_counter()
    statement = COPY_DELIVERIES.replace("COPY deliveries", "COPY bench_copy")
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)
    conn.commit()
    return time.perf_counter() - started


def _memory_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise BenchError(f"no {field} for process {pid}")


def _reset_peak(pid):
    # Linux: writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one.
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError as exc:
        raise BenchError(f"cannot reset the peak memory of process {pid}: {exc}") from exc


def run(env, quick):
    repeat = 3 if quick else 10
    city = ensure_city(env.admin_db)
    city_fanout = ensure_city(env.admin_db, CITY_FANOUT_PEOPLE, MERCHANTS, CITY_FANOUT_DISTRICTS)
    env.start_registry(database=city)
    database = _fresh_database(env.admin_db)
    env.start_notifications(database, env={"NOTIFICATIONS_DISPATCH_INTERVAL": "3600"})
    pid = env.pid("notifications")
    alliance = sorted(ALLIANCE_DISTRICTS)
    in_alliance = sum(ALLIANCE_DISTRICTS.values())
    results = []
    with psycopg.connect(database, autocommit=True) as conn:
        # Connections, statement plans and the registry's pages warm up on a district of 500.
        _fan_out(env, conn, ["aodele"], ALLIANCE_DISTRICTS["aodele"])
        fanouts = [_fan_out(env, conn, alliance, in_alliance) for _ in range(repeat)]
        with psycopg.connect(database) as copying:
            copies = [_raw_copy(copying, in_alliance) for _ in range(repeat)]
        figure, baseline = statistics.median(fanouts), statistics.median(copies)
        progress(
            f"notifications  fan-out {in_alliance:,} merchants: median {figure * 1000:.0f} ms"
            f" (min {min(fanouts) * 1000:.0f}, max {max(fanouts) * 1000:.0f}), raw COPY {baseline * 1000:.1f} ms"
        )
        results.append(
            Result(
                scenario="notifications",
                variant=f"fan-out to {in_alliance:,} merchants (inbox + SMS)",
                unit="ms",
                figure=figure * 1000,
                baselines={f"raw COPY {2 * in_alliance:,} deliveries": baseline * 1000},
                compared_to=f"raw COPY {2 * in_alliance:,} deliveries",
                goal=f"< {GOAL_ALLIANCE_S * 1000:.0f} ms",
                met=figure < GOAL_ALLIANCE_S,
            )
        )

        env.start_registry(database=city_fanout)
        _fan_out(env, conn, ["aodele"], CITY_FANOUT_DISTRICTS["aodele"])  # the registry's pages warm up
        rss_before = _memory_kib(pid, "VmRSS")
        _reset_peak(pid)
        city_figure = _fan_out(env, conn, alliance, MERCHANTS)
        peak = _memory_kib(pid, "VmHWM")
        with psycopg.connect(database) as copying:
            city_baseline = _raw_copy(copying, MERCHANTS)
        progress(
            f"notifications  fan-out {MERCHANTS:,} merchants: {city_figure:.1f} s, raw COPY {city_baseline:.2f} s;"
            f" service memory {rss_before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB"
        )
        results += [
            Result(
                scenario="notifications",
                variant=f"fan-out to {MERCHANTS:,} merchants (city)",
                unit="s",
                figure=city_figure,
                baselines={f"raw COPY {2 * MERCHANTS:,} deliveries": city_baseline},
                compared_to=f"raw COPY {2 * MERCHANTS:,} deliveries",
                goal=f"≤ {GOAL_CITY_RATIO:.0f}× raw COPY, < {GOAL_CITY_S:.0f} s",
                met=city_figure <= GOAL_CITY_RATIO * city_baseline and city_figure < GOAL_CITY_S,
            ),
            Result(
                scenario="notifications",
                variant=f"service peak memory, {MERCHANTS:,} fan-out",
                unit="MiB",
                figure=peak / 1024,
                baselines={"resident before": rss_before / 1024},
                compared_to="resident before",
                goal="reported",
                met=True,
            ),
        ]
    return results
