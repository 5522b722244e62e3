"""The bench's own world: a RabbitMQ vhost, a registry database and the processes it measures.

Nothing here touches what ``make run`` uses: the vhost, the databases and the HTTP ports are the
bench's own, and only the processes started here are stopped (by pid, SIGTERM first). The servers
are the ones ``make infra`` checks, read from the same variables (``AMQP_URI``, ``PG_ADMIN_URL``,
``RABBIT_MANAGEMENT_URI``). Both are made afresh at the start of a run, so every run measures the
same state; the vhost (with every queue in it) is deleted at the end, the database is kept for a
look at its outbox.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from amqp.exceptions import NotFound
from kombu import Connection, Exchange, Queue
from psycopg import sql

from alliance_platform.config import service_package
from alliance_platform.migrate import apply

from . import http_echo, kombu_echo

VHOST = "alliance_bench"
REGISTRY_DATABASE = "alliance_bench_registry"
GATEWAY_HTTP = "127.0.0.1:18100"
REGISTRY_HTTP = "127.0.0.1:18101"
NOTIFICATIONS_HTTP = "127.0.0.1:18104"
HTTP_ECHO = "127.0.0.1:18105"
# Every event the registry publishes lands here, as it would in a consumer's queue. Without a
# queue bound, the relay holds an event and retries it, which would leak into later measurements.
EVENTS_SINK = "bench_events_sink"
EVENTS_EXCHANGE = Exchange("registry.events", "topic", durable=True)

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "bench" / "results" / "logs"
START_TIMEOUT = 60
STOP_GRACE = 20


class BenchError(Exception):
    """The bench could not measure: a process did not start, or a correctness check failed."""


def _with_path(url, path):
    return urlunsplit(urlsplit(url)._replace(path=path))


def _bin(name):
    return str(Path(sys.executable).with_name(name))


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid=None):
    """CPU time (user + system) of process ``pid`` so far; this process's without one."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Environment:
    """``with Environment() as env:`` a fresh vhost and database; ``env.start_*()`` the processes."""

    def __init__(self):
        broker = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
        self.amqp_uri = _with_path(broker, f"/{VHOST}")
        self.broker_user = urlsplit(broker).username or "guest"
        self.admin_db = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        self.registry_db = _with_path(self.admin_db, f"/{REGISTRY_DATABASE}")
        management = os.environ.get("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/")
        self._vhost_api = _with_path(management, f"/api/vhosts/{VHOST}")
        self._permissions_api = _with_path(management, f"/api/permissions/{VHOST}/{self.broker_user}")
        self._processes = {}
        self._profiles = {}  # service -> processes of it started under the profiler
        self._registry_db = None
        self._http_echo_body = None

    def __enter__(self):
        self._reset_vhost()
        self._reset_database()
        return self

    def __exit__(self, *exc):
        self._stop_processes()
        requests.delete(self._vhost_api, timeout=10)

    def _reset_vhost(self):
        requests.delete(self._vhost_api, timeout=10)  # 404 when there is none yet
        requests.put(self._vhost_api, timeout=10).raise_for_status()
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        requests.put(self._permissions_api, json=everything, timeout=10).raise_for_status()

    def _reset_database(self):
        with psycopg.connect(self.admin_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(REGISTRY_DATABASE)))
        apply(self.registry_db, ["alliance_platform", service_package("registry")])

    # processes ---------------------------------------------------------------------------------

    def start_registry(self, database=None):
        """The registry on the bench's database, or on ``database`` (restarted if it runs on another)."""
        database = database or self.registry_db
        if "registry" in self._processes:
            if self._registry_db == database:
                return
            self._stop("registry")
        self._registry_db = database
        _require_free(REGISTRY_HTTP, "registry")
        self._declare_events_sink()
        self.start_service("registry", database, REGISTRY_HTTP)

    def start_notifications(self, database, env=None):
        """The notifications service on ``database``; its fan-out handler consumes before this returns."""
        self.start_service(
            "notifications",
            database,
            NOTIFICATIONS_HTTP,
            queue="evt-events-activity_published--notifications.handle_events_activity_published",
            env=env,
        )

    def start_gateway(self, env=None):
        """The HTTP gateway on the bench's own port, calling the services of the bench's vhost. It
        has no database and no RPC queue of its own: ready once ``/health/ready`` answers 200."""
        if "gateway" in self._processes:
            return
        _require_free(GATEWAY_HTTP, "gateway")
        self.start_service("gateway", None, GATEWAY_HTTP, queue=False, env=env)

    def start_service(self, name, database, address, queue=None, env=None, record=False, label=None):
        """``alliance-service NAME`` on ``database`` (None: a service without one), ready once it
        answers on ``address`` and consumes ``queue`` (its RPC queue unless named; False: none).

        ``record``: its sessions' statements are recorded for a baseline to replay (``recorded.py``,
        ``composite.py``). ``label``: the process's own name here (another instance of a service
        started already). ``BENCH_PROFILE=NAME`` runs that service under cProfile
        (``profiled.py``); its figures are then those of a profiled process."""
        argv = [_bin("alliance-service"), name]
        recording = [str(LOG_DIR / f"{name}.recorded")] if record else []
        if record:
            argv = [sys.executable, "-m", "bench.recorded", name, *recording]
        if name in _profiled():
            argv = [sys.executable, "-m", "bench.profiled", name, str(self._profile_path(name)), *recording]
        self._start(
            label or name,
            argv,
            queue=f"rpc-{name}" if queue is None else queue,
            ready_url=f"http://{address}/health/ready",
            env={
                "AMQP_URI": self.amqp_uri,
                **({f"{name.upper()}_DATABASE_URL": database} if database else {}),
                f"{name.upper()}_HTTP_ADDRESS": address,
                "ALLIANCE_LOG_LEVEL": "WARNING",  # not a log line per call: as quiet as the baselines
                **(env or {}),
            },
        )

    def _profile_path(self, name):
        """``NAME.prof``; a scenario's second process of the same service writes ``NAME-2.prof``."""
        self._profiles[name] = self._profiles.get(name, 0) + 1
        count = self._profiles[name]
        return LOG_DIR / (f"{name}.prof" if count == 1 else f"{name}-{count}.prof")

    def pid(self, name):
        return self._processes[name].pid

    def signal(self, name, signame):
        self._processes[name].send_signal(getattr(signal, signame))

    def restart_profile(self, name):
        """What the profiler of ``name`` gathered so far is dropped (when it runs under one)."""
        if name in _profiled():
            self._processes[name].send_signal(signal.SIGUSR1)

    def start_nameko_echo(self):
        self._start(
            "nameko_echo",
            [_bin("nameko"), "run", "bench.echo_service", "--broker", self.amqp_uri],
            queue="rpc-bench_echo",
        )

    def start_kombu_echo(self):
        self._start("kombu_echo", [sys.executable, "-m", "bench.kombu_echo", self.amqp_uri], queue=kombu_echo.QUEUE)

    def start_http_echo(self, body):
        """The barest nameko HTTP service (``http_echo.py``) answering every GET with ``body``;
        restarted when it answers with another."""
        if "http_echo" in self._processes:
            if self._http_echo_body == body:
                return
            self._stop("http_echo")
        _require_free(HTTP_ECHO, "the HTTP echo")
        self._http_echo_body = body
        self._start(
            "http_echo",
            [sys.executable, "-m", "bench.http_echo", HTTP_ECHO],
            queue=False,
            ready_url=f"http://{HTTP_ECHO}/health/ready",
            env={http_echo.BODY_VARIABLE: body},
        )

    def _start(self, name, argv, *, queue, ready_url=None, env=None):
        """Start ``name`` once and wait until it consumes ``queue`` (unless False) and ``ready_url``
        (if any) answers 200."""
        if name in self._processes:
            return
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the bench only; it stops its processes itself
            )
        self._processes[name] = process
        deadline = time.monotonic() + START_TIMEOUT
        while not ((queue is False or self.queue_counts(queue)[1]) and (ready_url is None or _answers_ok(ready_url))):
            if process.poll() is not None:
                raise BenchError(f"{name} exited with code {process.returncode} while starting; see {log_path}")
            if time.monotonic() > deadline:
                raise BenchError(f"{name} not ready after {START_TIMEOUT}s; see {log_path}")
            time.sleep(0.2)

    def _stop(self, name):
        process = self._processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _stop_processes(self):
        for process in self._processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in self._processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()

    # queues ------------------------------------------------------------------------------------

    def _declare_events_sink(self):
        with Connection(self.amqp_uri) as conn:
            Queue(EVENTS_SINK, EVENTS_EXCHANGE, routing_key="#", durable=True)(conn.channel()).declare()

    def queue_counts(self, queue):
        """(messages ready, consumers) of ``queue``; (0, 0) while it does not exist."""
        with Connection(self.amqp_uri) as conn:
            try:
                _, messages, consumers = conn.channel().queue_declare(queue, passive=True)
            except NotFound:
                return 0, 0
        return messages, consumers

    def purge(self, queue):
        with Connection(self.amqp_uri) as conn:
            conn.channel().queue_purge(queue)


def _profiled():
    return os.environ.get("BENCH_PROFILE", "").split(",")


def _require_free(address, who):
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        # Another process there would answer our readiness check in its place.
        if probe.connect_ex((host, int(port))) == 0:
            raise BenchError(f"{address} is in use (a bench left running?); {who} needs it")


def _answers_ok(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
