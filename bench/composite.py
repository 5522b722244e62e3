"""The same work without the platform: a write scenario's baseline.

The service measured runs under ``recorded.py``, which keeps the statements of every committed
worker session, grouped as the session sent them (one round trip each). ``replay`` sends those
very statements, with their recorded parameters and in the same round trips (a pipeline where the
session used one), over plain psycopg connections in autocommit mode, into a *twin* database: one
made the same way as the service's and holding the same rows before the run, so every statement
does the same work there — the same inserts, the same unique keys, the same row locks — with the
same durability (the server's own ``synchronous_commit``, which no connection here changes).

The composite is that SQL plus a bare nameko echo round trip: its time per call is the SQL's
time per call plus the echo's, so ``rate = 1 / (1 / sql_rate + 1 / echo_rate)`` — with calls in
flight too (on two cores the database and the broker share the CPU, so their times add). What the
platform does beyond it — identity, schemas, the stored answer's serialisation, events built and
checked, the outbox relay publishing them beside the workers, the service's own Python — is what
the ratio against the composite shows.
"""

import pickle
import time
from pathlib import Path

import eventlet
import psycopg

from .environment import LOG_DIR, BenchError, cpu_seconds
from .recorded import BEGIN, COMMIT

WAIT = 30


def recording_path(name):
    return LOG_DIR / f"{name}.recorded"


def recordings(env, name, entrypoint=None):
    """What service ``name`` (started with ``record=True``) committed since the last call, oldest
    first: a list of sessions, each a list of round trips; only ``entrypoint``'s if given."""
    path = recording_path(name)
    path.unlink(missing_ok=True)
    env.signal(name, "SIGUSR2")
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if time.monotonic() > deadline:
            raise BenchError(f"{name} wrote no recording in {WAIT}s")
        time.sleep(0.01)
    taken = pickle.loads(Path(path).read_bytes())
    return [trips for point, trips in taken if entrypoint is None or point == entrypoint]


def _replay_session(conn, trips):
    for trip in trips:
        if len(trip) == 1 and trip[0][0] not in (BEGIN, COMMIT):
            cursor = conn.execute(*trip[0])
        else:
            with conn.pipeline():
                for query, params in trip:
                    cursor = conn.execute(query, params, prepare=False if query in (BEGIN, COMMIT) else None)
        if cursor.description is not None:  # the session read what it asked for
            cursor.fetchall()


def replay(url, sessions, window, server_cpu=None):
    """Sessions per second replaying ``sessions`` into ``url`` with ``window`` connections at once,
    each session on one connection, taken in their recorded order. ``server_cpu``: a list that
    gets the CPU seconds the server's backends spent on them (None where the server is not on
    this machine)."""
    if not sessions:
        raise BenchError("nothing recorded to replay")
    connections = [psycopg.connect(url, autocommit=True) for _ in range(min(window, len(sessions)))]
    backends = [conn.info.backend_pid for conn in connections]
    before = backend_cpu(url, backends)
    try:
        queue = iter(sessions)
        failures = []

        def worker(conn):
            for trips in queue:
                try:
                    _replay_session(conn, trips)
                except psycopg.Error as exc:
                    failures.append(exc)
                    conn.rollback()

        started = time.perf_counter()
        pool = eventlet.GreenPool(len(connections))
        for conn in connections:
            pool.spawn(worker, conn)
        pool.waitall()
        elapsed = time.perf_counter() - started
        if server_cpu is not None:
            after = backend_cpu(url, backends)
            server_cpu.append(None if before is None or after is None else after - before)
    finally:
        for conn in connections:
            conn.close()
    if failures:
        raise BenchError(f"{len(failures)} of {len(sessions)} replayed sessions failed: {failures[0]}")
    return len(sessions) / elapsed


def backend_cpu(url, pids):
    """CPU seconds the server's backends ``pids`` have spent so far, from /proc; None when the
    server is not on this machine (its host is not local, or a backend is not ours to read)."""
    host = psycopg.conninfo.conninfo_to_dict(url).get("host") or "localhost"
    if host not in ("localhost", "127.0.0.1", "::1") and not host.startswith("/"):
        return None
    try:
        return sum(cpu_seconds(pid) for pid in pids)
    except OSError:  # gone, or a server in a container of its own
        return None


def service_backends(url):
    """The pids of the backends connected to ``url``'s database, but this query's own."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def rate(sql_rate, echo_rate):
    """Calls per second of the SQL and the echo one after the other."""
    return 1 / (1 / sql_rate + 1 / echo_rate)


def statements(sessions):
    """Statements per session (BEGIN and COMMIT counted), and round trips per session."""
    count = sum(len(trip) for trips in sessions for trip in trips)
    trips = sum(len(trips) for trips in sessions)
    return count / len(sessions), trips / len(sessions)
