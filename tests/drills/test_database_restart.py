"""Drill: a service's PostgreSQL restarts under load. Calls in flight fail with a clear, typed error
or succeed; nothing is half-written; the service recovers without being restarted.

A commit cut off by the restart has an outcome the service cannot know: it answers
`ServiceUnavailable`, yet the ticket may be stored. That is safe because callers retry with the
same request id: the retry gets the stored ticket, and no second one is made — every logical
submission below is stored exactly once, whichever way its first attempt ended.

The database server is the test's own (other port, data in a temporary folder); the machine's
PostgreSQL is never touched.
"""

import uuid

import eventlet
import pytest

from alliance_platform.config import service_class
from alliance_platform.errors import AllianceError
from alliance_platform.migrate import apply
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query, wait_until
from tests.support.servers import PrivatePostgres, workdir


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

    outcomes, answers = [], {}
    stop = eventlet.event.Event()
    numbers = iter(range(10**6))

    def load():
        with client(timeout=30) as alliance:
            alliance.retries = 0  # this drill retries itself, to count every attempt
            while not stop.ready():
                n = next(numbers)
                submit = alliance.tickets.submit_ticket.with_request_id(f"drill-{n}")
                while n not in answers:
                    try:
                        answers[n] = submit(**demand(merchant, title=f"演练 {n}"))["reference"]
                        outcomes.append(("ok", n))
                    except AllianceError as exc:  # the same submission again, same request id
                        outcomes.append(("refused", type(exc).__name__))
                        eventlet.sleep(0.1)
                    except Exception as exc:  # anything untyped is what this drill exists to catch
                        outcomes.append(("untyped", repr(exc)))
                        eventlet.sleep(0.1)

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
    tickets = query(database, "SELECT title, reference FROM tickets")
    stored = {}
    for t in tickets:
        stored.setdefault(t["title"], []).append(t["reference"])
    print(
        f"attempts {len(outcomes)}, submissions answered {len(answers)}, stored {len(tickets)}, "
        f"refused attempts {len(refused)} {sorted(set(refused))}"
    )
    assert [o for o in outcomes if o[0] == "untyped"] == []
    assert set(refused) <= {"ServiceUnavailable"}
    assert all(len(refs) == 1 for refs in stored.values()), "a submission stored twice"
    assert sorted(t["reference"] for t in tickets) == sorted(answers.values()), "every answer stored, nothing else"
    # Nothing half-written: each stored ticket has its timeline entry and both of its events.
    incomplete = query(
        database,
        "SELECT t.reference FROM tickets t WHERE"
        " (SELECT count(*) FROM timeline l WHERE l.ticket_id = t.id) <> 1"
        " OR (SELECT count(*) FROM outbox o WHERE o.aggregate_id = t.id::text) <> 2",
    )
    assert incomplete == []
