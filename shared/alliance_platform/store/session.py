"""The unit of work: one transaction per worker, its events recorded in the same commit.

``Session`` is what a use case gets; ``transaction`` runs one outside nameko; ``Database`` is the
nameko dependency that hands each worker a session and settles it (see ``entrypoints.py``), and
runs the outbox relay of the service.
"""

from contextlib import contextmanager

import eventlet
import psycopg
import structlog
from nameko.extensions import DependencyProvider

from ..outbox import writer as outbox
from ..outbox.relay import OutboxRelay
from . import green
from .pool import check_soon, make_pool, translate_db_error

log = structlog.get_logger("alliance.db")

# What a read-only use case may run (first word; a data-modifying WITH is not caught).
_READ_STATEMENTS = {"SELECT", "WITH", "VALUES", "SHOW"}


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

    def __init__(self, pool, source, read_pool=None):
        self._pool = pool
        self._read_pool = read_pool  # where use_read_only() sends the reads (see Database)
        self.source = source
        self._conn = None
        self.events_recorded = 0  # by the outbox writer
        self._pending = []  # deferred statements, not yet sent
        self._begun = False  # BEGIN sent
        self.finished = False
        self.read_only = False

    def use_read_only(self):
        """For use cases that only read: each statement runs on its own, without BEGIN and COMMIT.
        Under READ COMMITTED a transaction would not give several reads a common snapshot anyway.
        Such a use case must not write: ``execute`` refuses statements other than reads, and
        ``publish`` refuses. With a read pool (a standby, ``READ_DATABASE_URL``), its statements
        run there."""
        if self._conn is not None:
            raise RuntimeError("use_read_only() must come before the session's first statement")
        self.read_only = True
        if self._read_pool is not None:
            self._pool = self._read_pool

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
        """Record an event in the outbox, in this transaction; returns its event id."""
        if self.read_only:
            raise RuntimeError(f"a read-only use case cannot publish {event_type}")
        return outbox.record(self, event_type, payload, aggregate_id=aggregate_id, version=version)

    def run_alone(self, query, params=None):
        """Give up this session's transaction (if any) and run ``query`` on its own; returns one row.

        For reading what another worker committed after this attempt failed (``idempotency``).
        """
        self._pending = []
        conn = self.acquire()
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        self._begun = False
        return conn.execute(query, params).fetchone()

    def commit(self):
        """Run what is deferred and COMMIT, in one round trip.

        A session that has sent nothing yet (it only deferred: an event handler's claim, a
        projection's write and its audit row) sends its statements in one pipeline without BEGIN and
        COMMIT: until the pipeline's sync they are one implicit transaction, which the server
        commits at the sync, durably, or rolls back whole if one fails — two statements fewer.
        """
        if self.finished:
            return
        self.finished = True
        if self.read_only or not (self._begun or self._pending):
            return
        conn = self.acquire()  # a session that only deferred has not taken one yet
        with conn.pipeline():
            if not self._begun:
                pending, self._pending = self._pending, []
                for query, params in pending:
                    conn.execute(query, params)
                return
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
        broken = conn.broken or conn.closed
        self._pool.putconn(conn)  # the pool throws away a connection that broke
        if broken:  # the server went away or failed over: its idle connections are gone too
            check_soon(self._pool)


def _quietly(action, *args):
    """Undo work on a connection that may have broken (the server restarted, or the worker was
    killed in the middle of a pipeline as its service stopped): nothing was committed, and the error
    the caller sees is the one that broke it, not this one. A connection that cannot be rolled back
    is closed, so the pool replaces it instead of handing it to the next worker. Never raises,
    because nameko kills the whole service for an exception in a worker's teardown."""
    try:
        action(*args)
    except psycopg.Error as exc:
        connection = getattr(action, "__self__", None)
        if connection is not None:
            connection.close()
        log.info("a connection that could not be rolled back was closed", error=str(exc))


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


# Run on each new connection of the primary pool of a service that reads from a standby: its
# commits wait until the synchronous standbys have applied them (remote_apply), and it says whether
# every standby the primary streams to is one of those, so that a read there sees every commit
# acknowledged before it. pg_stat_replication's sync_state is NULL for a role that may not read
# it; then synchronous_standby_names is all there is to go by.
_PRIMARY_FOR_STANDBY_READS = """
SELECT set_config('synchronous_commit', 'remote_apply', false) AS synchronous_commit,
       current_setting('synchronous_standby_names') <> ''
       AND NOT EXISTS (SELECT 1 FROM pg_stat_replication
                       WHERE sync_state IN ('async', 'potential', 'quorum')) AS standbys_synchronous
"""


class Database(DependencyProvider):
    """Injects a ``Session`` per worker. The platform's entrypoints commit it before the reply or
    the ack (see ``entrypoints.py``); ``worker_result`` settles any other worker the same way.

    With ``READ_DATABASE_URL`` (a standby, or several hosts with ``target_session_attrs=
    prefer-standby``) read-only sessions take their connections from a second pool there — but
    only while the primary says that its commits are applied on every standby before they are
    acknowledged (``synchronous_standby_names``, asked on each new primary connection and every
    ``READ_DATABASE_CHECK_INTERVAL`` seconds; commits ask for ``remote_apply``). Otherwise reads
    stay on the primary: a caller never misses its own write because a standby lags
    (docs/ARCHITECTURE.md, "Reading from a standby"). While no primary answers, the last answer
    stands: without a primary nothing new is acknowledged that a standby could miss.
    """

    def __init__(self, relay=True):
        self.with_relay = relay
        self.sessions = {}
        self.relay = None
        self.read_pool = None
        self.standby_reads = False  # True while reads on read_pool see every acknowledged commit

    def setup(self):
        green.install()  # this process runs a service: database waits must yield to the hub
        config = self.container.config
        size = int(config.get("max_workers", 10)) + 2
        name = self.container.service_name
        read_url = config.get("READ_DATABASE_URL") or None
        self.pool = make_pool(
            config["DATABASE_URL"],
            max_size=size,
            name=f"{name}-db",
            configure=self._configure_primary if read_url else None,
        )
        if read_url:
            self.read_pool = make_pool(read_url, max_size=size, name=f"{name}-db-read")
        if self.with_relay:
            self.relay = OutboxRelay(self.container.service_name, config, self.container)

    def _configure_primary(self, conn):
        row = conn.execute(_PRIMARY_FOR_STANDBY_READS).fetchone()
        safe = bool(row["standbys_synchronous"])
        if safe != self.standby_reads:
            (log.info if safe else log.warning)(
                "reads go to the read database" if safe else "reads stay on the primary",
                service=self.container.service_name,
                reason=None
                if safe
                else "the primary does not wait for every standby to apply its commits"
                " (synchronous_standby_names), or there is no standby",
            )
        self.standby_reads = safe

    def _pools(self):
        return [pool for pool in (self.pool, self.read_pool) if pool is not None]

    def start(self):
        for pool in self._pools():
            pool.open(wait=False)
        if self.relay:
            self.relay.start()
        if self.read_pool is not None:
            self._stopping = False
            self._watcher = self.container.spawn_managed_thread(self._watch_primary, identifier="standby-reads")

    def _watch_primary(self):
        """Ask the primary again every ``READ_DATABASE_CHECK_INTERVAL`` seconds (default 5):
        its standbys may have changed since its connections were made (a standby taken out of
        ``synchronous_standby_names`` while it was down, then back as an asynchronous one)."""
        interval = float(self.container.config.get("READ_DATABASE_CHECK_INTERVAL", 5))
        while not self._stopping:
            eventlet.sleep(interval)
            try:
                with self.pool.connection(timeout=2) as conn:
                    self._configure_primary(conn)
            except Exception as exc:  # no primary now: keep the last answer (see the class)
                log.debug("could not ask the primary about its standbys", error=str(exc))

    def _stop_watching(self):
        self._stopping = True
        watcher, self._watcher = getattr(self, "_watcher", None), None
        if watcher is not None:
            watcher.kill()

    def stop(self):
        self._stop_watching()
        if self.relay:
            self.relay.stop()
        for pool in self._pools():
            pool.close()

    def kill(self):
        self._stop_watching()
        if self.relay:
            self.relay.stop()
        for pool in self._pools():
            pool.close(timeout=0)

    def get_dependency(self, worker_ctx):
        read_pool = self.read_pool if self.standby_reads else None
        session = Session(self.pool, self.container.service_name, read_pool=read_pool)
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
