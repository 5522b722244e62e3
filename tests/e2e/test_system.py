"""The four services as real processes, as `make run` starts them: ready, talking over the
broker, loading demo data idempotently, and stopping cleanly on SIGTERM."""

import io
import socket
import time

import pytest

from alliance_platform import demo_data
from alliance_platform.config import installed_services
from alliance_platform.supervisor import Supervisor
from tests.support.helpers import query, wait_until


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def system(monkeypatch, rabbit_config, fresh_database):
    databases = {}
    for name in installed_services():
        databases[name] = fresh_database(name)
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", databases[name])
        monkeypatch.setenv(f"{name.upper()}_HTTP_ADDRESS", f"127.0.0.1:{_free_port()}")
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    output = io.StringIO()
    supervisor = Supervisor(installed_services(), out=output)
    supervisor.start()
    try:
        supervisor.wait_ready(timeout=60)
        yield supervisor, databases, output
    finally:
        supervisor.stop()


def test_four_services_run_load_demo_data_twice_and_stop_cleanly(system, client):
    supervisor, databases, output = system

    with client(timeout=10) as alliance:
        first = demo_data.load(alliance, per_district=5)
        second = demo_data.load(alliance, per_district=5)
    assert first["merchants"] == {"registered": 15, "already present": 0}
    assert second["merchants"] == {"registered": 0, "already present": 15}
    assert all(entry["registered"] == 0 for entry in second.values()), second
    assert query(databases["registry"], "SELECT count(*) AS n FROM merchants")[0]["n"] == 15

    # The registry's events reach the tickets process through the outbox and the broker, once each.
    wait_until(
        lambda: query(databases["tickets"], "SELECT count(*) AS n FROM merchant_directory")[0]["n"] == 15,
        message="tickets to learn of the 15 merchants",
    )
    registered = "SELECT count(*) AS n FROM inbox WHERE handler = 'tickets.handle_registry_merchant_registered'"
    assert query(databases["tickets"], registered)[0]["n"] == 15

    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 25
    assert {name: p.returncode for name, p in supervisor.processes.items()} == dict.fromkeys(installed_services(), 0)
    lines = output.getvalue().splitlines()
    for name in installed_services():
        assert any(line.startswith(f"{name} ") and "service started" in line for line in lines), name
        assert any(line.startswith(f"{name} ") and "service stopped" in line for line in lines), name
