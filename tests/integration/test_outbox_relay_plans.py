"""The relay's prepared statements are planned again as the outbox grows.

psycopg prepares a statement from its sixth run, and the server keeps its generic plan for the
connection's life unless an ANALYZE invalidates it. The relay's connection lives as long as the
service, and its first plans are made on an outbox of a few rows, where scanning the whole table
is the cheapest plan. Where autovacuum is off or has not come by (this machine: off), those plans
stayed, and marking two events published cost more with every event the outbox had kept (bench
``tickets``: 0.4 → 1.2 ms of the server's CPU per submission over 9,000 events). On a real database
session: the statement's plan after the outbox grew, with and without the relay planning again.
"""

from types import SimpleNamespace

import psycopg
import pytest
from psycopg.rows import dict_row

from alliance_platform.outbox import relay as relay_module
from alliance_platform.outbox.relay import OutboxRelay

PREPARED_AFTER = 6  # psycopg's prepare_threshold is 5: prepared on the sixth run


def _connect(url):
    conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    # The server's choice between a custom and the generic plan depends on its cost estimates;
    # forcing the generic one makes the test say what a long-lived prepared statement runs.
    conn.execute("SET plan_cache_mode = force_generic_plan")
    return conn


def _add_events(conn, count):
    conn.execute(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, correlation_id, body)"
        " SELECT gen_random_uuid(), 'merchant_registered', 'm-' || n, 'c', repeat('x', 400)"
        " FROM generate_series(1, %s) AS n",
        (count,),
    )
    return conn.execute("SELECT max(id) AS id FROM outbox").fetchone()["id"]


def _mark(conn, ids):
    conn.execute(relay_module._MARK_PUBLISHED, (ids, [False] * len(ids)))


def _plan_of_marking(conn):
    """The plan the server runs for the relay's prepared UPDATE on this connection."""
    prepared = conn.execute(
        "SELECT name FROM pg_prepared_statements WHERE statement LIKE 'UPDATE outbox SET published_at%%'"
    ).fetchall()
    assert len(prepared) == 1, f"the marking UPDATE is not prepared once: {prepared}"
    rows = conn.execute(f"EXPLAIN EXECUTE {prepared[0]['name']}('{{1}}', '{{f}}')").fetchall()
    return "\n".join(row["QUERY PLAN"] for row in rows)


def _relay(conn):
    relay = OutboxRelay(
        "probe",
        {"DATABASE_URL": "postgresql://unused", "AMQP_URI": "amqp://unused"},
        SimpleNamespace(service_name="probe"),
    )
    relay._db = conn
    return relay


@pytest.fixture
def outbox_connection(fresh_database):
    with _connect(fresh_database("probe")) as conn:
        # A database handed back by an earlier test is truncated but keeps its sequences: the
        # relay's rule counts growth from the ids, so they start from 1 here.
        conn.execute("SELECT setval('outbox_id_seq', 1, false)")
        yield conn


def _prepared_on_a_small_outbox(conn, relay=None):
    first = _add_events(conn, 2)
    if relay is not None:
        relay._plan_again_if_grown(first)  # the relay's first batch
    for _ in range(PREPARED_AFTER):
        _mark(conn, [first])


def test_without_planning_again_the_marking_update_scans_the_grown_outbox_whole(outbox_connection):
    # The condition the relay guards against, so that the next test cannot pass for another reason.
    _prepared_on_a_small_outbox(outbox_connection)
    _add_events(outbox_connection, 20_000)
    assert "Seq Scan on outbox" in _plan_of_marking(outbox_connection)


def test_the_relay_plans_again_once_the_outbox_has_grown_and_then_uses_the_index(outbox_connection):
    relay = _relay(outbox_connection)
    _prepared_on_a_small_outbox(outbox_connection, relay)
    highest = _add_events(outbox_connection, 20_000)
    relay._plan_again_if_grown(highest)
    for _ in range(PREPARED_AFTER):
        _mark(outbox_connection, [highest])
    plan = _plan_of_marking(outbox_connection)
    assert "Seq Scan" not in plan
    assert "outbox_pkey" in plan


def test_the_relay_plans_again_only_when_the_outbox_grew_by_a_factor():
    cleared = []
    relay = _relay(SimpleNamespace(_prepared=SimpleNamespace(clear=lambda: cleared.append(True))))
    for highest in (1, 3, 4, 10, 15, 16, 63, 64, 100):
        relay._plan_again_if_grown(highest)
    assert len(cleared) == 3  # at 4, 16 and 64: a handful of times in a database's life


def test_the_relay_plans_again_as_often_as_the_outbox_grows_and_every_statement_still_runs(outbox_connection):
    relay = _relay(outbox_connection)
    highest = _add_events(outbox_connection, 1)
    relay._plan_again_if_grown(highest)
    for _ in range(4):  # the second forgetting once failed: psycopg named statements the server had dropped
        for _ in range(PREPARED_AFTER):
            _mark(outbox_connection, [highest])
        highest = _add_events(outbox_connection, 4 * highest)
        relay._plan_again_if_grown(highest)
    _mark(outbox_connection, [highest])
