"""The four services and the HTTP gateway as real processes on the test's databases and vhost, as
`make run` starts them."""

import io
import socket

import pytest

from alliance_ops.supervisor import Supervisor
from alliance_platform.config import installed_services, load_config
from tests.support.helpers import RABBIT_MANAGEMENT_URI


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def system_env():
    """Extra environment for the service processes; a test module overrides it (time, channels)."""
    return {}


@pytest.fixture
def system(monkeypatch, rabbit_config, fresh_database, system_env):
    """(supervisor, databases by service, merged output). The environment points every service and
    the in-process ``alliance`` command at the test's databases, vhost and management API."""
    for name, value in system_env.items():
        monkeypatch.setenv(name, value)
    databases = {}
    for name in installed_services():
        if load_config(name).get("DATABASE_URL"):  # the gateway has none
            databases[name] = fresh_database(name)
            monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", databases[name])
        monkeypatch.setenv(f"{name.upper()}_HTTP_ADDRESS", f"127.0.0.1:{_free_port()}")
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    monkeypatch.setenv("ALLIANCE_RPC_VALIDATE_RESULTS", "true")  # every result checked against its schema
    monkeypatch.setenv("RABBIT_MANAGEMENT_URI", RABBIT_MANAGEMENT_URI)
    output = io.StringIO()
    supervisor = Supervisor(installed_services(), out=output)
    supervisor.start()
    try:
        supervisor.wait_ready(timeout=60)
        yield supervisor, databases, output
    finally:
        supervisor.stop()
