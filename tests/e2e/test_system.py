"""The four services as real processes, as `make run` starts them: ready, talking over the
broker, loading demo data idempotently, and stopping cleanly on SIGTERM."""

import time

from alliance_ops import demo_data
from alliance_platform.config import installed_services
from tests.support.helpers import query, wait_until


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
    registered = (
        "SELECT count(*) AS n FROM processed_events WHERE handler = 'tickets.handle_registry_merchant_registered'"
    )
    assert query(databases["tickets"], registered)[0]["n"] == 15

    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 25
    assert {name: p.returncode for name, p in supervisor.processes.items()} == dict.fromkeys(installed_services(), 0)
    lines = output.getvalue().splitlines()
    for name in installed_services():
        assert any(line.startswith(f"{name} ") and "service started" in line for line in lines), name
        assert any(line.startswith(f"{name} ") and "service stopped" in line for line in lines), name
