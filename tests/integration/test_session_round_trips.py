"""A session's deferred statements (outbox rows, NOTIFY, stored answers…) and its queued BEGIN:
fewer round trips, the same transaction. Deferring changes when a statement is sent, never what
commits or what a later statement sees."""

from datetime import UTC, datetime

import psycopg
import pytest

from alliance_contracts import example_envelopes
from alliance_platform.store import Session, make_pool, transaction
from tests.support.helpers import query


@pytest.fixture
def probe_db(fresh_database):
    url = fresh_database("probe")
    pool = make_pool(url, max_size=2, name="session-test")
    pool.open()
    yield url, pool
    pool.close()


def _event(n):
    payload = example_envelopes("registry", "merchant_registered")[0]["payload"]
    return "merchant_registered", {**payload, "shop_name": f"商户{n}", "registered_at": datetime.now(UTC)}


def _outbox(url):
    return query(url, "SELECT count(*) AS n FROM outbox")[0]["n"]


def test_a_session_that_only_publishes_commits_its_events(probe_db):
    url, pool = probe_db
    with transaction(pool, "registry") as session:
        for n in range(3):
            event_type, payload = _event(n)
            session.publish(event_type, payload, aggregate_id=f"m-{n}")
    assert _outbox(url) == 3


def test_a_deferred_write_is_seen_by_the_next_statement_of_the_session(probe_db):
    url, pool = probe_db
    with transaction(pool, "probe") as session:
        session.defer("INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 1)")
        assert session.fetchval("SELECT count(*) FROM probe_items") == 1
        assert query(url, "SELECT count(*) AS n FROM probe_items")[0]["n"] == 0  # not committed yet
    assert query(url, "SELECT count(*) AS n FROM probe_items")[0]["n"] == 1


def test_a_failing_deferred_statement_fails_the_commit_and_nothing_is_written(probe_db):
    url, pool = probe_db
    with pytest.raises(psycopg.errors.UniqueViolation):
        with transaction(pool, "registry") as session:
            session.execute("INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 1)")
            event_type, payload = _event(1)
            session.publish(event_type, payload, aggregate_id="m-1")
            session.defer("INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 2)")
    assert query(url, "SELECT count(*) AS n FROM probe_items")[0]["n"] == 0
    assert _outbox(url) == 0
    with pool.connection() as conn:  # the connection went back clean, out of any transaction
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_rolled_back_deferred_statements_are_never_sent(probe_db):
    url, pool = probe_db
    session = Session(pool, "probe")
    session.execute("INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 1)")
    session.defer("INSERT INTO probe_items (id, aggregate, seq) VALUES ('b', 'x', 1)")
    session.rollback()
    session.close()
    assert query(url, "SELECT count(*) AS n FROM probe_items")[0]["n"] == 0


def _sent(session):
    """The statements the session's connection is given from now on (a list that fills)."""
    conn = session.acquire()
    sent, execute = [], conn.execute

    def recording(query, *args, **kwargs):
        sent.append(str(query).split()[0])
        return execute(query, *args, **kwargs)

    conn.execute = recording
    return sent


def test_a_session_that_only_deferred_commits_in_one_implicit_transaction_without_begin_or_commit(probe_db):
    url, pool = probe_db
    with transaction(pool, "registry") as session:
        sent = _sent(session)
        session.defer("INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 1)")
        event_type, payload = _event(1)
        session.publish(event_type, payload, aggregate_id="m-1")
    assert sent == ["INSERT", "INSERT", "NOTIFY"], "no BEGIN, no COMMIT: the pipeline's sync commits"
    assert query(url, "SELECT count(*) AS n FROM probe_items")[0]["n"] == 1 and _outbox(url) == 1


def test_a_failing_statement_of_an_implicit_transaction_rolls_back_the_others(probe_db):
    url, pool = probe_db
    query(url, "INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 1) RETURNING id")
    with pytest.raises(psycopg.errors.UniqueViolation):
        with transaction(pool, "registry") as session:
            session.defer("INSERT INTO probe_items (id, aggregate, seq) VALUES ('b', 'x', 1)")
            event_type, payload = _event(1)
            session.publish(event_type, payload, aggregate_id="m-1")
            session.defer("INSERT INTO probe_items (id, aggregate, seq) VALUES ('a', 'x', 2)")
    assert [r["id"] for r in query(url, "SELECT id FROM probe_items")] == ["a"]
    assert _outbox(url) == 0
    with pool.connection() as conn:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
