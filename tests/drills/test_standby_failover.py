"""Drill: the tickets service's primary PostgreSQL is lost under load and its standby promoted.

A private primary and its streaming standby (tests/support/standby.py; the primary waits for the
standby to apply every commit). The service is given both servers in multi-host URLs: its
DATABASE_URL with ``target_session_attrs=read-write``, its READ_DATABASE_URL with
``prefer-standby``. Four callers submit demands (AllianceClient, each logical submission under one
request id, sent again until answered) and read each one back at once (get_ticket, a read-only call
served by the standby); two more list and search. After 40 acknowledged submissions the primary is
stopped — a fast shutdown, then in a second run SIGKILL — and the standby promoted (pg_promote), as
an operator or a failover manager would. The service is not restarted.

Outcomes asserted: every acknowledged submission is stored on the new primary (nothing committed
lost), none twice (nothing done twice), every caller read its own submission back, every failure a
caller saw was typed (ServiceUnavailable / ServiceTimeout), and the outbox resumed — every stored
ticket's ``ticket_submitted`` reached a consumer, those committed after the failover included.
Figures are printed (run with -s); timing is printed, never asserted.
"""

import collections
import contextlib
import json
import os
import threading
import time
import uuid

import eventlet
import pytest
from kombu import Connection, Exchange, Queue

from alliance_platform.config import service_class
from alliance_platform.errors import AllianceError, NotFound
from alliance_platform.migrate import apply
from alliance_platform.store import Database
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query, wait_until
from tests.support.servers import workdir
from tests.support.standby import ReplicatedPostgres

pytestmark = pytest.mark.slow

DB = "alliance_tickets_failover"
BEFORE, AFTER = 40, 40  # acknowledged submissions before the primary is lost, and after promotion
SUBMITTERS, READERS = 4, 2
PROMOTE_AFTER = float(os.environ.get("DRILL_PROMOTE_AFTER", "3"))  # seconds without a primary


class Consumer:
    """Every ``ticket_submitted`` the tickets service publishes, by event id (a queue of its own)."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.received = collections.Counter()  # event id -> times delivered
        self.tickets = set()
        self._stop = threading.Event()
        exchange = Exchange("tickets.events", type="topic", durable=True)
        self.queue = Queue(f"drill-{uuid.uuid4().hex[:8]}", exchange, routing_key="ticket_submitted", auto_delete=True)
        self._conn = Connection(amqp_uri)
        self.queue(self._conn.channel()).declare()  # bound before the service publishes anything
        self._thread = eventlet.spawn(self._consume)

    def _on_message(self, body, message):
        envelope = body if isinstance(body, dict) else json.loads(body)
        self.received[uuid.UUID(envelope["event_id"])] += 1
        self.tickets.add(envelope["payload"]["ticket_id"])
        message.ack()

    def _consume(self):
        with self._conn.Consumer(self.queue, callbacks=[self._on_message], accept=["json"]):
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    self._conn.drain_events(timeout=0.2)

    def close(self):
        self._stop.set()
        self._thread.wait()
        self._conn.close()


@pytest.fixture
def replicated():
    with workdir("alliance-failover-") as folder, ReplicatedPostgres(folder) as servers:
        servers.primary.sql(f"CREATE DATABASE {DB}")
        apply(servers.url(DB), ["alliance_platform", "alliance_tickets"])
        yield servers


@pytest.fixture
def consumer(rabbit_config):
    listening = Consumer(rabbit_config["AMQP_URI"])
    yield listening
    listening.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("loss", ["fast shutdown", "SIGKILL"])
def test_the_service_survives_the_loss_of_its_primary(
    loss, replicated, consumer, container_factory, service_config, client
):
    primary_url, read_url = replicated.url(DB), replicated.url(DB, read=True)
    merchant = str(uuid.uuid4())
    query(
        primary_url,
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
        " VALUES (%s, '切换演练商户', 'wholesale_city', 'active') RETURNING merchant_id",
        (merchant,),
    )
    container = container_factory(
        service_class("tickets"),
        service_config("tickets", database=primary_url, READ_DATABASE_URL=read_url, OUTBOX_RECONNECT_MAX=0.5),
    )
    container.start()

    stop = eventlet.event.Event()
    numbers = iter(range(10**6))
    started = []  # submission numbers begun
    acked = {}  # submission number -> (ticket id, reference, when answered)
    refused = collections.Counter()  # typed errors callers saw, by name
    untyped, own_write_missing = [], []
    reads = collections.Counter()
    read_times = []  # when each pair of list calls was answered

    def counting_refusals(alliance):
        """Count every refused attempt, the client's own retries (same request id) included."""
        guard = alliance._guard

        def counted(target, fn):
            try:
                return guard(target, fn)
            except AllianceError as exc:
                refused[type(exc).__name__] += 1
                raise

        alliance._guard = counted
        return alliance

    def submitter():
        with client(timeout=10) as alliance:
            counting_refusals(alliance)
            while not stop.ready():
                n = next(numbers)
                started.append(n)
                submit = alliance.tickets.submit_ticket.with_request_id(f"failover-{n}")
                while n not in acked:
                    try:
                        answer = submit(**demand(merchant, title=f"切换 {n}"))
                        acked[n] = (answer["ticket_id"], answer["reference"], time.monotonic())
                    except AllianceError:  # sent again, same request id (after the client's own retries)
                        eventlet.sleep(0.2)
                    except Exception as exc:  # anything untyped is what this drill exists to catch
                        untyped.append(repr(exc))
                        eventlet.sleep(0.2)
                # Read it back at once: a read-only call, on the standby while there is one.
                while True:
                    try:
                        alliance.tickets.get_ticket(ticket_id=acked[n][0])
                        break
                    except NotFound:
                        own_write_missing.append(n)
                        break
                    except AllianceError:
                        eventlet.sleep(0.2)

    def reader():
        with client(timeout=10) as alliance:
            alliance.retries = 0
            while not stop.ready():
                try:
                    alliance.tickets.list_tickets(merchant_id=merchant, limit=20)
                    alliance.tickets.list_tickets(status="submitted", limit=20)
                    reads["answered"] += 2
                    read_times.append(time.monotonic())
                except AllianceError as exc:
                    reads[type(exc).__name__] += 1
                    eventlet.sleep(0.2)
                except Exception as exc:
                    untyped.append(repr(exc))
                    eventlet.sleep(0.2)
                eventlet.sleep(0.02)

    workers = [eventlet.spawn(submitter) for _ in range(SUBMITTERS)] + [eventlet.spawn(reader) for _ in range(READERS)]
    try:
        wait_until(lambda: len(acked) >= BEFORE, timeout=60, message="submissions before the failover")
        acked_before = len(acked)
        lost_at = time.monotonic()
        if loss == "SIGKILL":
            replicated.primary.kill()
        else:
            replicated.primary.stop()
        down_at = time.monotonic()
        eventlet.sleep(PROMOTE_AFTER)  # the time a failover manager takes to decide
        replicated.standby.promote()
        promoted_at = time.monotonic()
        wait_until(
            lambda: sum(1 for *_, when in acked.values() if when > promoted_at) >= AFTER,
            timeout=90,
            message="submissions acknowledged after the promotion (the service recovering without a restart)",
        )
    finally:
        stop.send()
        for worker in workers:
            worker.wait()
    first_after = min(when for *_, when in acked.values() if when > down_at)

    # What the new primary holds, and whether the outbox got it all out.
    new_primary = replicated.standby.url(DB)
    stored = query(new_primary, "SELECT id::text AS id, title, reference FROM tickets")
    by_title = collections.Counter(t["title"] for t in stored)
    stored_refs = {t["reference"] for t in stored}
    lost = [n for n, (_, ref, _) in acked.items() if ref not in stored_refs]
    duplicated = [title for title, count in by_title.items() if count > 1]
    events = query(new_primary, "SELECT event_id AS id, aggregate_id FROM outbox WHERE event_type = 'ticket_submitted'")
    after_ids = {ticket_id for ticket_id, _, when in acked.values() if when > promoted_at}
    try:
        wait_until(
            lambda: all(consumer.received[e["id"]] for e in events),
            timeout=60,
            message="every stored ticket's ticket_submitted delivered (the outbox resuming on the new primary)",
        )
    except AssertionError:
        unpublished = query(new_primary, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        missing = [e["id"] for e in events if not consumer.received[e["id"]]]
        raise AssertionError(
            f"{len(missing)} of {len(events)} not delivered (e.g. {missing[:3]}); received {len(consumer.received)}"
            f" (e.g. {list(consumer.received)[:3]}); unpublished in the outbox {unpublished}"
        ) from None
    reads_without_primary = 2 * sum(1 for when in read_times if down_at < when < promoted_at)
    read_pool = next(d for d in container.dependencies if isinstance(d, Database)).read_pool
    read_connections = read_pool.get_stats()["requests_num"]
    redelivered = sum(count - 1 for count in consumer.received.values() if count > 1)

    print(
        f"\n[standby failover, {loss}] submitted {len(started)}"
        f" acknowledged {len(acked)} (before the loss {acked_before}) present {len(acked) - len(lost)}"
        f" lost {len(lost)} duplicated {len(duplicated)} stored {len(stored)}\n"
        f"  primary down {down_at - lost_at:.2f} s after the signal; the service committing again"
        f" {first_after - down_at:.2f} s after it was down, of which until promoted {promoted_at - down_at:.2f} s\n"
        f"  refused attempts (each sent again, same request id) {dict(refused)}; reads {dict(reads)},"
        f" {reads_without_primary} of them while there was no primary; sessions on the read pool"
        f" {read_connections}; own submissions not read back {len(own_write_missing)}\n"
        f"  events: {len(events)} ticket_submitted in the outbox, all delivered; {redelivered} delivered twice"
    )
    assert untyped == []
    assert read_connections > 0, "the read URL was not used"
    assert set(refused) <= {"ServiceUnavailable", "ServiceTimeout"}
    assert lost == [], "acknowledged submissions missing on the new primary"
    assert duplicated == [], "a submission stored twice"
    assert own_write_missing == [], "a caller did not read its own submission back"
    assert stored_refs >= {ref for _, ref, _ in acked.values()}
    assert after_ids <= consumer.tickets, "events of commits after the failover did not reach the consumer"
    assert {e["aggregate_id"] for e in events} == {t["id"] for t in stored}
