"""PrivateRabbit and PrivatePostgres, the servers that outage tests stop and restart: what was
committed survives a restart, what was not is gone, a stopped server refuses connections, and a
server that cannot start says why."""

import json
import os
import socket
import subprocess

import kombu
import kombu.exceptions
import psycopg
import pytest

from tests.support import servers
from tests.support.servers import PrivatePostgres, PrivateRabbit, ServerError


@pytest.fixture(scope="module")
def workdir():
    with servers.workdir("alliance-servers-") as path:
        yield path


@pytest.fixture(scope="module")
def rabbit(workdir):
    with PrivateRabbit(workdir / "rabbitmq") as server:
        yield server


@pytest.fixture(scope="module")
def postgres(workdir):
    with PrivatePostgres(workdir / "postgres") as server:
        yield server


def amqp_connect(rabbit):
    # Publisher confirms: publish() returns once the broker has the message (on disk if
    # persistent), so a restart right after cannot race it.
    connection = kombu.Connection(rabbit.amqp_uri, connect_timeout=5, transport_options={"confirm_publish": True})
    # No retries: a refused connection must fail at once, not after kombu's back-off.
    connection.ensure_connection(max_retries=0)
    return connection


def test_persistent_message_in_durable_queue_survives_rabbit_restart(rabbit):
    queue = kombu.Queue("outage-survivors", durable=True)
    with amqp_connect(rabbit) as connection:
        producer = connection.Producer()
        for body, delivery_mode in (("persistent", 2), ("transient", 1)):
            producer.publish(body, routing_key=queue.name, declare=[queue], delivery_mode=delivery_mode, retry=False)
        assert queue(connection.default_channel).queue_declare(passive=True).message_count == 2
    pid_before = rabbit.pid

    rabbit.restart()

    assert rabbit.pid != pid_before
    with amqp_connect(rabbit) as connection:
        bound = queue(connection.default_channel)
        # The transient message, lost by the restart, shows the broker really went down.
        assert [bound.get(no_ack=True).payload, bound.get(no_ack=True)] == ["persistent", None]


def test_stopped_rabbit_refuses_connections(rabbit):
    rabbit.stop()
    try:
        with pytest.raises(kombu.exceptions.OperationalError):
            amqp_connect(rabbit)
    finally:
        rabbit.start()
    amqp_connect(rabbit).release()


def test_committed_row_survives_postgres_restart(postgres):
    with psycopg.connect(postgres.url(), autocommit=True) as connection:
        connection.execute("CREATE TABLE outage_survivors (name text)")
        connection.execute("INSERT INTO outage_survivors VALUES ('committed')")
    open_transaction = psycopg.connect(postgres.url())
    open_transaction.execute("INSERT INTO outage_survivors VALUES ('uncommitted')")

    postgres.restart()

    with pytest.raises(psycopg.OperationalError):
        open_transaction.execute("SELECT 1")
    open_transaction.close()
    with psycopg.connect(postgres.url()) as connection:
        rows = connection.execute("SELECT name FROM outage_survivors").fetchall()
    assert rows == [("committed",)]


def test_stopped_postgres_refuses_connections(postgres):
    postgres.stop()
    try:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres.url(), connect_timeout=5)
    finally:
        postgres.start()
    psycopg.connect(postgres.url()).close()


def test_failed_start_raises_with_the_server_log(workdir):
    with socket.socket() as taken:
        # Bound without SO_REUSEADDR, the port is refused to PostgreSQL's listener.
        taken.bind(("127.0.0.1", 0))
        server = PrivatePostgres(workdir / "port-taken", port=taken.getsockname()[1])
        with pytest.raises(ServerError, match="Address already in use"):
            server.start()
    assert not server.running


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another user")
def test_workdir_the_server_user_cannot_reach_is_refused(tmp_path):
    with pytest.raises(ServerError, match="cannot reach"):
        PrivatePostgres(tmp_path / "postgres").start()


def test_a_server_left_by_a_killed_test_run_is_ended_by_the_next_and_a_live_runs_is_not(tmp_path, monkeypatch):
    registry = tmp_path / "registry"
    monkeypatch.setattr(servers, "_orphan_registry", None)  # this run's registry is given back afterwards
    servers.register_for_orphan_sweep(registry)
    with servers.workdir("alliance-orphan-") as folder:
        orphan, kept = PrivatePostgres(folder / "orphan"), PrivatePostgres(folder / "kept")
        orphan.start()
        kept.start()
        try:
            # The run that started `orphan` was killed before its teardown: its process is gone.
            finished = subprocess.Popen(["true"])
            finished.wait()
            entry_path = registry / f"{orphan.pid}.json"
            entry = json.loads(entry_path.read_text())
            entry["owner"], entry["owner_started"] = finished.pid, "gone"
            entry_path.write_text(json.dumps(entry))
            orphan_pid = orphan.pid

            ended = servers.register_for_orphan_sweep(registry)  # what the next run does first

            assert [line.split(" (")[0] for line in ended] == [orphan.name]
            assert servers.process_start_time(orphan_pid) is None
            assert not orphan.workdir.exists() and not entry_path.exists()
            assert kept.running and servers.port_open(kept.host, kept.port), "a live run's server is left alone"
        finally:
            orphan._process = None  # ended by the sweep, not by its own stop()
            kept.stop()
        assert list(registry.glob("*.json")) == [], "a server stopped by its own run is forgotten"
