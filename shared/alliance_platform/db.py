"""PostgreSQL access: one pool per service, one transaction per worker, events in the same commit.

Waiting on the server must yield to the eventlet hub, or one slow query stalls every worker in the
process and starves the broker heartbeats. psycopg's C wait function blocks in C; its
``wait_select`` waits through ``select.select``, which eventlet's monkey patch makes green, and it
keeps the C build's speed for everything else. psycopg reads that choice from an environment
variable it calls a testing aid, so the platform makes the choice here, in code it owns, and
``tests/integration/test_db_concurrency.py`` proves that queries overlap inside one service.
"""

import json
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import psycopg.errors
import structlog
from nameko.extensions import DependencyProvider
from psycopg import waiting
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from . import contracts
from .context import current_call, new_id
from .errors import Conflict, ServiceUnavailable, ValidationError

waiting.wait = waiting.wait_select

log = structlog.get_logger("alliance.db")

OUTBOX_CHANNEL = "alliance_outbox"
# What a read-only use case may run (first word; a data-modifying WITH is not caught).
_READ_STATEMENTS = {"SELECT", "WITH", "VALUES", "SHOW"}


def make_pool(url, *, max_size, name, min_size=1, timeout=10.0):
    return ConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        kwargs={"row_factory": dict_row},
        open=False,
        name=name,
        timeout=timeout,
    )


def translate_db_error(exc):
    """The typed error a caller should see for a database failure, or None to let it surface."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return Conflict(f"already exists: {exc.diag.message_detail or exc.diag.message_primary}")
    if isinstance(exc, psycopg.errors.DataError):
        # Values the database cannot store (a NUL character, a number out of range) are bad input.
        return ValidationError("invalid input", {"_value": [exc.diag.message_primary or str(exc)]})
    if isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)):
        return Conflict("a concurrent change got there first; read again and retry")
    if isinstance(exc, (psycopg.OperationalError, psycopg.errors.AdminShutdown)):
        return ServiceUnavailable(f"database unavailable: {exc}")
    if isinstance(exc, PoolTimeout):
        return ServiceUnavailable("database busy: no connection free in time")
    return None


class Session:
    """A unit of work: a transaction begun on first use, plus the events it will announce.

    ``publish`` writes the event to the outbox table in the same transaction as the change it
    announces, so both commit or neither does; the outbox relay sends it afterwards.
    """

    def __init__(self, pool, source):
        self._pool = pool
        self.source = source
        self._conn = None
        self._events = 0
        self.finished = False
        self.read_only = False

    def use_read_only(self):
        """For use cases that only read: each statement runs on its own, without BEGIN and COMMIT
        (two round trips saved). Under READ COMMITTED a transaction would not give several reads a
        common snapshot anyway. Such a use case must not write: ``execute`` refuses statements
        other than reads, and ``publish`` refuses."""
        if self._conn is not None:
            raise RuntimeError("use_read_only() must come before the session's first statement")
        self.read_only = True

    @property
    def connection(self):
        return self.acquire()

    def acquire(self, timeout=None):
        """The session's connection; waits at most ``timeout`` seconds for a free one."""
        if self._conn is None:
            self._conn = self._pool.getconn(timeout=timeout)
            if self.read_only:
                self._conn.autocommit = True
        return self._conn

    def execute(self, query, params=None):
        if self.read_only and str(query).split(None, 1)[0].upper() not in _READ_STATEMENTS:
            raise RuntimeError(f"a read-only use case cannot run {str(query).split()[0]!r}")
        return self.connection.execute(query, params)

    def fetchone(self, query, params=None):
        return self.execute(query, params).fetchone()

    def fetchall(self, query, params=None):
        return self.execute(query, params).fetchall()

    def fetchval(self, query, params=None):
        row = self.execute(query, params).fetchone()
        return None if row is None else next(iter(row.values()))

    def publish(self, event_type, payload, *, aggregate_id, version=1):
        """Record an event for the outbox; returns its event id."""
        if self.read_only:
            raise RuntimeError(f"a read-only use case cannot publish {event_type}")
        call = current_call()
        body = contracts.build_envelope(
            source=self.source,
            event_type=event_type,
            version=version,
            payload=payload,
            aggregate_id=str(aggregate_id),
            event_id=new_id(),
            occurred_at=datetime.now(UTC),
            correlation_id=call.correlation_id if call else new_id(),
            actor=call.actor if call else None,
        )
        self.execute(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, correlation_id, body) VALUES (%s, %s, %s, %s, %s)",
            (
                body["event_id"],
                event_type,
                body["aggregate_id"],
                body["correlation_id"],
                json.dumps(body, ensure_ascii=False),
            ),
        )
        if not self._events:
            # Delivered at commit (and not at all on rollback): wakes the relay of any instance.
            self.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        self._events += 1
        return body["event_id"]

    def claim_event(self, handler, event_id):
        """Record that ``handler`` processes ``event_id``; False if it already did (a redelivery)."""
        row = self.fetchone(
            "INSERT INTO inbox (handler, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (handler, event_id),
        )
        return row is not None

    def commit(self):
        if self.finished:
            return
        self.finished = True
        if self._conn is None:
            return
        self._conn.commit()

    def rollback(self):
        if self.finished:
            return
        self.finished = True
        if self._conn is not None:
            _quietly(self._conn.rollback)

    def close(self):
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        if self.read_only:
            _quietly(setattr, conn, "autocommit", False)
        elif not self.finished:
            _quietly(conn.rollback)
        self._pool.putconn(conn)  # the pool throws away a connection that broke


def _quietly(action, *args):
    """Undo work on a connection that may have broken (the server restarted): nothing was committed,
    and the error the caller sees is the one that broke it, not this one. Never raises, because
    nameko kills the whole service for an exception in a worker's teardown."""
    try:
        action(*args)
    except psycopg.Error as exc:
        log.warning("could not roll back on a broken connection", error=str(exc))


@contextmanager
def transaction(pool, source):
    """A unit of work outside nameko (scripts, tests): commits on success, rolls back on error."""
    session = Session(pool, source)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database(DependencyProvider):
    """Injects a ``Session`` per worker. The platform's entrypoints commit it before the reply or
    the ack (see ``entrypoints.py``); ``worker_result`` settles any other worker the same way."""

    def __init__(self, relay=True):
        self.with_relay = relay
        self.sessions = {}
        self.relay = None

    def setup(self):
        from .outbox import OutboxRelay

        config = self.container.config
        self.pool = make_pool(
            config["DATABASE_URL"],
            max_size=int(config.get("max_workers", 10)) + 2,
            name=f"{self.container.service_name}-db",
        )
        if self.with_relay:
            self.relay = OutboxRelay(self.container.service_name, config, self.container)

    def start(self):
        self.pool.open(wait=False)
        if self.relay:
            self.relay.start()

    def stop(self):
        if self.relay:
            self.relay.stop()
        self.pool.close()

    def kill(self):
        if self.relay:
            self.relay.stop()
        self.pool.close(timeout=0)

    def get_dependency(self, worker_ctx):
        session = Session(self.pool, self.container.service_name)
        self.sessions[worker_ctx] = session
        return session

    def finalize(self, worker_ctx, exc_info):
        """Commit (or roll back, on error) the worker's transaction.

        Returns the ``exc_info`` the caller should see: the commit's own failure if it failed.
        """
        session = self.sessions.get(worker_ctx)
        if session is None or session.finished:
            return exc_info
        if exc_info is not None:
            session.rollback()
            return exc_info
        try:
            session.commit()
        except Exception as exc:
            session.rollback()
            typed = translate_db_error(exc) or exc
            return (type(typed), typed, exc.__traceback__)
        return None

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        self.finalize(worker_ctx, exc_info)

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()
