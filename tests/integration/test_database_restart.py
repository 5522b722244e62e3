"""Drill: a service's PostgreSQL restarts under load. Calls in flight fail with a clear, typed error
or succeed; nothing is half-written; the service recovers without being restarted.

The database server is the test's own (other port, data in a temporary folder); the machine's
PostgreSQL is never touched.
"""

import uuid

import eventlet
import pytest

from alliance_platform.config import service_class
from alliance_platform.errors import AllianceError
from alliance_platform.migrate import apply
from alliance_platform.testing.servers import PrivatePostgres, workdir
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query, wait_until


@pytest.fixture
def postgres():
    with workdir("alliance-pg-") as folder, PrivatePostgres(folder) as server:
        yield server


def test_calls_during_a_database_restart_fail_cleanly_and_the_service_recovers(
    postgres, container_factory, service_config, client
):
    database = postgres.url("alliance_tickets_drill")
    apply(database, ["alliance_platform", "alliance_tickets"])
    merchant = str(uuid.uuid4())
    query(
        database,
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
        " VALUES (%s, '演练商户', 'wholesale_city', 'active') RETURNING merchant_id",
        (merchant,),
    )
    container = container_factory(service_class("tickets"), service_config("tickets", database=database))
    container.start()

    outcomes = []
    stop = eventlet.event.Event()

    def load():
        with client(timeout=30) as alliance:
            while not stop.ready():
                try:
                    outcomes.append(("ok", alliance.tickets.submit_ticket(**demand(merchant))["reference"]))
                except AllianceError as exc:
                    outcomes.append(("refused", type(exc).__name__))
                except Exception as exc:  # anything untyped is what this drill exists to catch
                    outcomes.append(("untyped", repr(exc)))

    workers = [eventlet.spawn(load) for _ in range(4)]
    wait_until(lambda: len(outcomes) >= 20, timeout=60, message="load before the restart")
    before_restart = len(outcomes)
    postgres.restart()
    wait_until(
        lambda: sum(1 for kind, _ in outcomes[before_restart:] if kind == "ok") >= 20,
        timeout=90,
        message="the service to take calls again after the restart",
    )
    stop.send()
    for worker in workers:
        worker.wait()

    refused = [detail for kind, detail in outcomes if kind == "refused"]
    succeeded = [detail for kind, detail in outcomes if kind == "ok"]
    print(f"calls {len(outcomes)}, succeeded {len(succeeded)}, refused {len(refused)} {sorted(set(refused))}")
    assert [o for o in outcomes if o[0] == "untyped"] == []
    assert set(refused) <= {"ServiceUnavailable"}
    tickets = query(database, "SELECT reference FROM tickets")
    assert sorted(t["reference"] for t in tickets) == sorted(succeeded), "every success is stored, nothing else"
    # Nothing half-written: each stored ticket has its timeline entry and both of its events.
    incomplete = query(
        database,
        "SELECT t.reference FROM tickets t WHERE"
        " (SELECT count(*) FROM timeline l WHERE l.ticket_id = t.id) <> 1"
        " OR (SELECT count(*) FROM outbox o WHERE o.aggregate_id = t.id::text) <> 2",
    )
    assert incomplete == []
