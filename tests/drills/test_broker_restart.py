"""Drill: RabbitMQ stops for 20 s while 300 tickets are being submitted by callers that retry as
real clients do (a 3 s timeout, the same request id on every attempt of one submission, until it
succeeds). Every submission is stored exactly once, and every stored ticket's events are
processed exactly once downstream: none lost, none doubled.

The broker is the test's own node (other ports, data in a temporary folder).
"""

import time
import uuid

import eventlet
import pytest

from alliance_platform.config import platform_defaults, service_class
from alliance_platform.errors import AllianceError
from alliance_platform.rpc import AllianceClient
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query, wait_until
from tests.support.probe import TicketsWatcher
from tests.support.servers import PrivateRabbit, workdir

SUBMISSIONS = 300
CALLERS = 3
OUTAGE_SECONDS = 20


@pytest.fixture
def rabbit():
    with workdir("alliance-rabbit-") as folder, PrivateRabbit(folder) as broker:
        yield broker


def test_retried_submissions_are_stored_once_and_processed_once_across_a_broker_outage(
    rabbit, container_factory, service_config, fresh_database, admin_token
):
    on_private_broker = {"AMQP_URI": rabbit.amqp_uri, "OUTBOX_POLL_INTERVAL": 0.1}
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

    queue = list(range(SUBMISSIONS))
    answers, attempts, untyped = {}, [0], []

    def submit(n, alliance):
        """One logical submission: the same request id until it succeeds (or the drill's deadline)."""
        method = alliance.tickets.submit_ticket.with_request_id(f"drill-{n}")
        return method(**demand(merchant, title=f"演练 {n}"))

    def caller():
        deadline = time.monotonic() + 300
        while queue and time.monotonic() < deadline:
            n = queue.pop(0)
            while time.monotonic() < deadline:
                attempts[0] += 1
                try:
                    with AllianceClient(rabbit.amqp_uri, admin_token, timeout=3, retries=0) as alliance:
                        answers[n] = submit(n, alliance)["reference"]
                        break
                except AllianceError:  # timed out or unavailable: the same submission again
                    eventlet.sleep(0.2)
                except Exception as exc:  # anything untyped is what this drill exists to catch
                    untyped.append(repr(exc))
                    eventlet.sleep(0.2)

    callers = [eventlet.spawn(caller) for _ in range(CALLERS)]
    try:
        wait_until(lambda: len(answers) >= SUBMISSIONS // 3, timeout=180, message="a third of the submissions")
        rabbit.stop()
        eventlet.sleep(OUTAGE_SECONDS)  # the outage itself
        rabbit.start()
        for c in callers:
            c.wait()
    finally:
        queue.clear()  # callers stop after the submission in hand
        if not rabbit.running:
            rabbit.start()  # containers stop cleanly only against a running broker

    stored = query(tickets_db, "SELECT title, reference FROM tickets")
    per_submission = {}
    for row in stored:
        per_submission.setdefault(row["title"], []).append(row["reference"])
    doubled = {title: refs for title, refs in per_submission.items() if len(refs) > 1}
    wait_until(
        lambda: query(watcher_db, "SELECT count(*) AS n FROM probe_effects")[0]["n"] >= 2 * len(stored),
        timeout=180,
        message="every stored ticket's two events downstream",
    )
    effects = query(watcher_db, "SELECT item_id, aggregate, count(*) AS times FROM probe_effects GROUP BY 1, 2")
    duplicated = sum(e["times"] - 1 for e in effects)
    print(
        f"submissions {SUBMISSIONS}, attempts {attempts[0]}, answered {len(answers)}, stored {len(stored)}, "
        f"stored twice or more {len(doubled)}, events processed {len(effects)}, "
        f"lost {2 * len(stored) - len(effects)}, duplicated {duplicated}, untyped errors {len(untyped)}"
    )
    try:
        _assert_once_each(answers, per_submission, doubled, effects, duplicated, stored, untyped)
    finally:
        tickets.stop()  # while the broker still runs: a container stopping against a dead broker waits to reconnect
        watcher.stop()


def _assert_once_each(answers, per_submission, doubled, effects, duplicated, stored, untyped):
    assert untyped == []
    assert len(answers) == SUBMISSIONS, "every submission eventually answered"
    assert doubled == {}, "a retried submission was stored more than once"
    assert {refs[0] for refs in per_submission.values()} == set(answers.values())
    assert len(effects) == 2 * len(stored) and duplicated == 0
