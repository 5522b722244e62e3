"""PostgreSQL access: one pool per service, one transaction per worker, events in the same commit.

Waiting on the server must yield to the eventlet hub, or one slow query stalls every worker in the
process and starves the broker heartbeats. psycopg's C wait function blocks in C, so the platform
gives psycopg a wait loop of its own (``_green_wait``) that parks the green thread on eventlet's
hub, keeping the C build's speed for everything else; ``tests/integration/test_db_concurrency.py``
proves that queries overlap inside one service.
"""

import json
from contextlib import contextmanager
from datetime import UTC, datetime
from time import monotonic

import psycopg
import psycopg.errors
import structlog
from eventlet import patcher
from eventlet.green import select as green_select
from eventlet.hubs import trampoline
from nameko.extensions import DependencyProvider
from psycopg import waiting
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from . import contracts
from .context import current_call, new_id
from .errors import Conflict, ServiceUnavailable, ValidationError


def _green_wait(gen, fileno, interval=0.0, timeout=None):
    """psycopg's wait loop, waiting through eventlet's hub.

    ``waiting.wait_select`` works through eventlet's green ``select``, which for every wait builds
    listeners for three lists and a timer for psycopg's 0.1 s wake-up interval (there only so that
    a blocked thread notices Ctrl-C, which a green thread does not need): in a busy service that was
    a fifth of the process's CPU. Here a wait first asks the kernel, without blocking, whether the
    socket is ready already (a pipeline's writes usually are); else it parks the green thread on
    the hub for the one event psycopg asked for.
    """
    deadline = None if timeout is None else monotonic() + timeout
    try:
        state = next(gen)
        while True:
            wanted = (
                ([fileno] if state & waiting.WAIT_R else []),
                ([fileno] if state & waiting.WAIT_W else []),
            )
            readable, writable, _ = _real_select.select(*wanted, [], 0)
            if not (readable or writable):
                remaining = None if deadline is None else max(0.0, deadline - monotonic())
                if state == waiting.WAIT_RW:
                    readable, writable, _ = green_select.select(*wanted, [], remaining)
                else:
                    try:
                        trampoline(
                            fileno,
                            read=state == waiting.WAIT_R,
                            write=state == waiting.WAIT_W,
                            timeout=remaining,
                            timeout_exc=_WaitExpired,
                        )
                    except _WaitExpired:
                        pass
                    else:
                        readable, writable = wanted
            ready = (waiting.READY_R if readable else 0) | (waiting.READY_W if writable else 0)
            state = gen.send(ready)
            if deadline is not None and monotonic() >= deadline:
                raise psycopg.errors._WaitTimeout("wait timeout expired")
    except OSError as exc:
        raise psycopg.OperationalError("connection socket closed") from exc
    except StopIteration as done:
        return done.value


class _WaitExpired(Exception):
    pass


waiting.wait = _green_wait

_real_select = patcher.original("select")

log = structlog.get_logger("alliance.db")

OUTBOX_CHANNEL = "alliance_outbox"
# What a read-only use case may run (first word; a data-modifying WITH is not caught).
_READ_STATEMENTS = {"SELECT", "WITH", "VALUES", "SHOW"}


def make_pool(url, *, max_size, name, min_size=1, timeout=10.0):
    return ConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        # Sessions say BEGIN themselves, queued with their first statement (see ``Session``).
        kwargs={"row_factory": dict_row, "autocommit": True},
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

    Round trips are what a use case waits for (about 0.5 ms each here, more than most statements
    take), so a session spends as few as it can, with libpq's pipeline mode:

    - ``BEGIN`` goes with the first statement, not on its own (the pool's connections are in
      autocommit mode, and the session opens its transaction itself);
    - statements whose results nobody reads — the outbox rows, the ``NOTIFY``, a timeline line, the
      stored answer to a command — are ``defer``-red: they go with the next statement, or with
      ``COMMIT``, in one round trip. They run in the order they were given, before anything after
      them, so deferring changes when a statement is sent, never what a later one sees. An error in
      one surfaces at that later statement or at the commit, and the transaction rolls back whole.
    """

    def __init__(self, pool, source):
        self._pool = pool
        self.source = source
        self._conn = None
        self._events = 0
        self._pending = []  # deferred statements, not yet sent
        self._begun = False  # BEGIN sent
        self.finished = False
        self.read_only = False

    def use_read_only(self):
        """For use cases that only read: each statement runs on its own, without BEGIN and COMMIT.
        Under READ COMMITTED a transaction would not give several reads a common snapshot anyway.
        Such a use case must not write: ``execute`` refuses statements other than reads, and
        ``publish`` refuses."""
        if self._conn is not None:
            raise RuntimeError("use_read_only() must come before the session's first statement")
        self.read_only = True

    @property
    def connection(self):
        """The connection, inside the session's transaction, with every deferred statement run."""
        conn = self.acquire()
        if not self.read_only and (self._pending or not self._begun):
            with conn.pipeline():
                self._send_ahead(conn)
        return conn

    def acquire(self, timeout=None):
        """The session's connection; waits at most ``timeout`` seconds for a free one."""
        if self._conn is None:
            self._conn = self._pool.getconn(timeout=timeout)
        return self._conn

    def _send_ahead(self, conn):
        """Queue (in a pipeline) what must run before the next statement: BEGIN, deferred ones."""
        if not self._begun:
            self._begun = True
            conn.execute("BEGIN", prepare=False)
        pending, self._pending = self._pending, []
        for query, params in pending:
            conn.execute(query, params)

    def execute(self, query, params=None):
        conn = self.acquire()
        if self.read_only:
            if str(query).split(None, 1)[0].upper() not in _READ_STATEMENTS:
                raise RuntimeError(f"a read-only use case cannot run {str(query).split()[0]!r}")
            return conn.execute(query, params)
        if self._begun and not self._pending:
            return conn.execute(query, params)
        with conn.pipeline():
            self._send_ahead(conn)
            cursor = conn.execute(query, params)
        return cursor

    def defer(self, query, params=None):
        """Run ``query``, whose result nobody reads, with the session's next round trip."""
        if self.read_only:
            raise RuntimeError(f"a read-only use case cannot run {str(query).split()[0]!r}")
        self._pending.append((query, params))

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
        self.defer(
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
            self.defer(f"NOTIFY {OUTBOX_CHANNEL}")
        self._events += 1
        return body["event_id"]

    def claim_event(self, handler, event_id):
        """Record that ``handler`` processes ``event_id``; False if it already did (a redelivery)."""
        row = self.fetchone(
            "INSERT INTO inbox (handler, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (handler, event_id),
        )
        return row is not None

    def stored_answer(self, request_key):
        """The stored answer of a command (``result``, ``fingerprint``), or None; after a rollback too.

        Runs on its own, outside the transaction: the answer was committed by another worker.
        """
        self._pending = []
        conn = self.acquire()
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        self._begun = False
        return conn.execute(
            "SELECT result, fingerprint FROM rpc_requests WHERE request_id = %s", (request_key,)
        ).fetchone()

    def commit(self):
        """Run what is deferred and COMMIT, in one round trip."""
        if self.finished:
            return
        self.finished = True
        if self.read_only or not (self._begun or self._pending):
            return
        conn = self.acquire()  # a session that only deferred has not taken one yet
        with conn.pipeline():
            self._send_ahead(conn)
            conn.execute("COMMIT", prepare=False)

    def rollback(self):
        if self.finished:
            return
        self.finished = True
        self._pending = []
        if self._conn is not None:
            _quietly(self._conn.rollback)

    def close(self):
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        self._pending = []
        if not self.finished or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
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


def relay_of(container):
    """The outbox relay of a service container, or None (a container without one)."""
    for dependency in container.dependencies:
        if isinstance(dependency, Database):
            return dependency.relay
    return None


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
            if typed is not exc:
                typed.__cause__ = exc  # the entrypoint may look at what the database said
            return (type(typed), typed, exc.__traceback__)
        return None

    def session_of(self, worker_ctx):
        return self.sessions.get(worker_ctx)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        self.finalize(worker_ctx, exc_info)

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()
