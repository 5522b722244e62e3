"""Drill: RabbitMQ restarts while 500 tickets are being submitted. Every ticket that was stored has
its events processed exactly once downstream; none is lost, none is doubled.

The broker is the test's own node (other ports, data in a temporary folder).
"""

import uuid

import eventlet
import pytest

from alliance_platform.config import platform_defaults, service_class
from alliance_platform.rpc import AllianceClient
from alliance_platform.testing.servers import PrivateRabbit, workdir
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query, wait_until
from tests.support.probe import TicketsWatcher

TICKETS = 500


@pytest.fixture
def rabbit():
    with workdir("alliance-rabbit-") as folder, PrivateRabbit(folder) as broker:
        yield broker


def test_every_stored_ticket_is_processed_exactly_once_across_a_broker_restart(
    rabbit, container_factory, service_config, fresh_database, admin_token
):
    on_private_broker = {"AMQP_URI": rabbit.amqp_uri, "OUTBOX_POLL_INTERVAL": 0.1, "OUTBOX_MAX_BACKOFF": 1}
    tickets = container_factory(service_class("tickets"), service_config("tickets", **on_private_broker))
    watcher = container_factory(
        TicketsWatcher,
        {
            **platform_defaults(),
            **on_private_broker,
            "DATABASE_URL": fresh_database("probe"),
            "WEB_SERVER_ADDRESS": "127.0.0.1:0",
        },
    )
    watcher.start()
    tickets.start()
    tickets_db, watcher_db = tickets.config["DATABASE_URL"], watcher.config["DATABASE_URL"]
    merchant = str(uuid.uuid4())
    query(
        tickets_db,
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
        " VALUES (%s, '演练商户', 'wholesale_city', 'active') RETURNING merchant_id",
        (merchant,),
    )

    attempts, failures = [0], [0]

    def submit_all():
        """A caller that keeps going: it reconnects after the broker drops it."""
        while attempts[0] < TICKETS:
            try:
                with AllianceClient(rabbit.amqp_uri, admin_token, timeout=10) as alliance:
                    while attempts[0] < TICKETS:
                        attempts[0] += 1
                        alliance.tickets.submit_ticket(**demand(merchant))
            except Exception:  # the broker went away mid-call: count it, connect again
                failures[0] += 1
                eventlet.sleep(0.5)

    caller = eventlet.spawn(submit_all)
    wait_until(lambda: attempts[0] >= TICKETS // 3, timeout=120, message="a third of the tickets")
    rabbit.restart()
    caller.wait()

    stored = query(tickets_db, "SELECT count(*) AS n FROM tickets")[0]["n"]
    wait_until(
        lambda: query(watcher_db, "SELECT count(*) AS n FROM probe_effects")[0]["n"] >= 2 * stored,
        timeout=120,
        message="every stored ticket's two events downstream",
    )
    effects = query(watcher_db, "SELECT item_id, aggregate, count(*) AS times FROM probe_effects GROUP BY 1, 2")
    duplicated = sum(e["times"] - 1 for e in effects)
    print(
        f"sent {TICKETS}, stored {stored}, processed {len(effects)} events, lost {2 * stored - len(effects)}, "
        f"duplicated {duplicated}, calls broken by the restart {failures[0]}"
    )
    assert stored >= TICKETS - failures[0]
    assert len(effects) == 2 * stored and duplicated == 0
    tickets.stop()  # while the broker still runs: a container stopping against a dead broker waits to reconnect
    watcher.stop()
