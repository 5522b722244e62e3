"""Drill: a node of a three-node RabbitMQ cluster is lost under load, and nothing else is.

While 500 demands are submitted (AllianceClient; every attempt of one submission carries the same
request id, until it is answered) and one activity is announced to 2,200 merchants, the node every
service is connected to (the first of AMQP_URI's three) is stopped — run 1: gracefully, run 2:
SIGKILL — and started again later. The services reconnect to a surviving node on their own.
Printed: sent / answered / refused during the failover / stored / confirmed by the broker /
processed downstream / lost / duplicated, and how long after the loss the first call was answered
again. Asserted: every submission answered and stored once, every stored ticket's events processed
once, every merchant exactly one inbox message, the only errors callers saw ServiceUnavailable or
ServiceTimeout, every service ready at the end, never restarted.

One cluster (tests/support/cluster.py) serves both runs; each run has its own vhost and databases.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta

import eventlet
import pytest

from alliance_platform.config import platform_defaults, service_class
from alliance_platform.errors import ServiceTimeout, ServiceUnavailable
from alliance_platform.rpc import AllianceClient
from tests.integration.tickets.conftest import demand
from tests.support.helpers import get_json, http_port, query, wait_until
from tests.support.probe import TicketsWatcher

SUBMISSIONS = 500
CALLERS = 4
MERCHANTS = 2_200
OUTAGE_SECONDS = 10
SERVICES = ("registry", "events", "notifications", "tickets")


def _seed_merchants(registry_db):
    query(
        registry_db,
        "INSERT INTO merchants (shop_name, district_id, category, credit_code, contact_phone, created_at, updated_at)"
        " SELECT '演练商户' || n, (ARRAY['wholesale_city', 'aodele', 'outlets'])[1 + n %% 3], '百货',"
        " lpad(n::text, 18, '0'), '139' || lpad(n::text, 8, '0'), now(), now()"
        " FROM generate_series(1, %s) AS n RETURNING 1",
        (MERCHANTS,),
    )


def _announce(alliance):
    starts = datetime.now(UTC) + timedelta(days=10)
    activity = alliance.events.create_activity(
        title=f"全体商户大会 {uuid.uuid4().hex[:6]}",
        type="symposium",
        description="演练",
        venue="服务中心",
        organisers=["wholesale_city", "aodele", "outlets"],
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=2)).isoformat(),
        registration_opens_at=datetime.now(UTC).isoformat(),
        registration_closes_at=(starts - timedelta(days=1)).isoformat(),
        capacity=100,
        audience={"kinds": ["merchants"], "districts": ["wholesale_city", "aodele", "outlets"]},
    )
    alliance.events.publish_activity(activity_id=activity["activity_id"])


def _print_broker_state(cluster, vhost):
    """What the broker holds when the drill fails: each queue's node, consumers and messages."""
    node = next(node for node in cluster.nodes if node.running)
    for what in (
        ("list_queues", "-p", vhost, "name", "type", "durable", "exclusive", "pid", "consumers", "messages"),
        ("list_consumers", "-p", vhost, "queue_name", "channel_pid", "ack_required", "prefetch_count"),
        ("list_connections", "name", "user", "vhost", "pid", "state", "channels"),
        ("list_bindings", "-p", vhost, "source_name", "destination_name", "routing_key"),
    ):
        try:
            print(f"\n$ rabbitmqctl {' '.join(what)}\n{node.ctl(*what, timeout=60)}")
        except Exception as exc:  # a diagnostic: never hide the drill's own failure
            print(f"$ rabbitmqctl {what[0]} failed: {exc}")


def _print_consumer_threads():
    """Where each greenthread of the services' queue consumers and publishers is waiting."""
    import gc
    import traceback

    import greenlet

    for thread in gc.get_objects():
        if not isinstance(thread, greenlet.greenlet) or thread.gr_frame is None:
            continue
        stack = "".join(traceback.format_stack(thread.gr_frame))
        if "kombu" in stack or "amqp" in stack:
            print(f"\n--- greenthread {thread!r}\n{stack}")
    from nameko.messaging import QueueConsumer

    for consumer in gc.get_objects():
        if not isinstance(consumer, QueueConsumer) or getattr(consumer, "container", None) is None:
            continue
        print(
            f"\n=== queue consumer of {consumer.container.service_name}: should_stop {consumer.should_stop},"
            f" {len(consumer._providers)} providers, {len(consumer._consumers)} consumers,"
            f" thread dead {getattr(consumer._gt, 'dead', None)}"
        )
        frame = getattr(getattr(consumer, "_gt", None), "gr_frame", None)
        while frame is not None:
            if frame.f_code.co_name == "consume" and "conn" in frame.f_locals:
                conn, chan = frame.f_locals["conn"], frame.f_locals.get("channel")
                amqp_conn = getattr(conn, "_connection", None)
                sock = getattr(getattr(amqp_conn, "transport", None), "sock", None)
                print(
                    f"  the thread consumes on {sock.getsockname() if sock else None}, channels"
                    f" {list((getattr(amqp_conn, 'channels', None) or {}).keys())}, its channel"
                    f" {getattr(chan, 'channel_id', None)} open {getattr(chan, 'is_open', None)},"
                    f" default {getattr(getattr(conn, '_default_channel', None), 'channel_id', None)}"
                )
            frame = frame.f_back
        for provider, kombu_consumer in list(consumer._consumers.items())[:3]:
            channel = kombu_consumer.channel
            connection = getattr(channel, "connection", None)
            sock = getattr(getattr(connection, "transport", None), "sock", None)
            try:
                local = sock.getsockname() if sock is not None else None
            except OSError as exc:
                local = f"socket error {exc}"
            print(
                f"  {type(provider).__name__} {[q.name for q in kombu_consumer.queues]}: channel"
                f" {getattr(channel, 'channel_id', None)} open {getattr(channel, 'is_open', None)},"
                f" tags {getattr(kombu_consumer, '_active_tags', None)}, connection {local},"
                f" channels on it {list(getattr(connection, 'channels', {}) or {})}"
            )


@pytest.mark.timeout(900)  # generous waits on a busy machine (each up to 240 s), never on a fixed delay
@pytest.mark.parametrize("loss", ["stop", "kill"])
def test_a_lost_broker_node_loses_no_command_and_doubles_no_effect(
    loss, rabbit_cluster, container_factory, service_config, fresh_database, admin_token
):
    cluster, vhost = rabbit_cluster, f"alliance-drill-{loss}"
    cluster.load_definitions(vhost)
    # A fan-out the registry could not serve during the failover is resumed within 10 s, not after the
    # production backoff (up to 300 s): the drill waits on the broker's recovery, not on the backoff.
    quick = {"OUTBOX_POLL_INTERVAL": 0.1, "RPC_TIMEOUT": 10, "RESOLVE_BACKOFF_MAX": 10}
    containers = {
        name: container_factory(
            service_class(name), service_config(name, AMQP_URI=cluster.amqp_uri(name, vhost), **quick)
        )
        for name in SERVICES
    }
    containers["watcher"] = container_factory(
        TicketsWatcher,
        {
            **platform_defaults(),
            **quick,
            "AMQP_URI": cluster.amqp_uri("admin", vhost),
            "DATABASE_URL": fresh_database("probe"),
            "WEB_SERVER_ADDRESS": "127.0.0.1:0",
        },
    )
    for container in containers.values():
        container.start()
    db = {name: c.config["DATABASE_URL"] for name, c in containers.items()}
    _seed_merchants(db["registry"])
    merchant = str(uuid.uuid4())
    query(
        db["tickets"],
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
        " VALUES (%s, '演练商户', 'wholesale_city', 'active') RETURNING merchant_id",
        (merchant,),
    )
    client_uri = cluster.amqp_uri("operator", vhost)

    queue = list(range(SUBMISSIONS))
    answers, answered_at, attempts, refused, untyped = {}, [], [0], [0], []

    def caller():
        deadline = time.monotonic() + 400
        with AllianceClient(client_uri, admin_token, timeout=5, retries=2, retry_wait=0.2) as alliance:
            while queue and time.monotonic() < deadline:
                n = queue.pop(0)
                submit = alliance.tickets.submit_ticket.with_request_id(f"drill-{loss}-{n}")
                while time.monotonic() < deadline:
                    attempts[0] += 1
                    try:
                        answers[n] = submit(**demand(merchant, title=f"演练 {n}"))["reference"]
                        answered_at.append(time.monotonic())
                        break
                    except (ServiceUnavailable, ServiceTimeout):  # the failover: the same request again
                        refused[0] += 1
                        eventlet.sleep(0.2)
                    except Exception as exc:  # anything else is what this drill exists to catch
                        untyped.append(repr(exc))
                        eventlet.sleep(0.2)

    node = cluster.nodes[0]  # first in every AMQP_URI: where every service is connected
    callers = [eventlet.spawn(caller) for _ in range(CALLERS)]
    try:
        wait_until(lambda: len(answers) >= SUBMISSIONS // 3, timeout=240, message="a third of the submissions")
        with AllianceClient(client_uri, admin_token, timeout=30) as alliance:
            _announce(alliance)
        lost_at = time.monotonic()
        node.kill() if loss == "kill" else node.stop()
        eventlet.sleep(OUTAGE_SECONDS)
        node.start()
        for c in callers:
            c.wait()
    finally:
        queue.clear()
        if not node.running:
            node.start()

    stored = query(db["tickets"], "SELECT title, reference FROM tickets")
    per_submission = {}
    for row in stored:
        per_submission.setdefault(row["title"], []).append(row["reference"])
    doubled = {title: refs for title, refs in per_submission.items() if len(refs) > 1}
    wait_until(
        lambda: query(db["watcher"], "SELECT count(*) AS n FROM probe_effects")[0]["n"] >= 2 * len(stored),
        timeout=240,
        message="every stored ticket's two events downstream",
    )

    def inbox():
        return query(
            db["notifications"],
            "SELECT count(*) AS messages, count(DISTINCT d.recipient) AS recipients FROM deliveries d"
            " JOIN notifications n ON n.id = d.notification_id"
            " WHERE d.channel = 'inbox' AND n.source = 'events.activity_published'",
        )[0]

    try:
        wait_until(lambda: inbox()["recipients"] >= MERCHANTS, timeout=240, message="every merchant's inbox message")
    except AssertionError:
        print(f"\n[{loss}] inbox {inbox()}; the announcement's fan-outs:")
        for row in query(
            db["notifications"],
            "SELECT id, rule, status, attempts, retry_at, last_error, progress, now() AS now FROM notifications"
            " WHERE source = 'events.activity_published'",
        ):
            print(f"  {row}")
        _print_broker_state(cluster, vhost)
        _print_consumer_threads()
        raise
    effects = query(db["watcher"], "SELECT item_id, aggregate, count(*) AS times FROM probe_effects GROUP BY 1, 2")
    confirmed = query(db["tickets"], "SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL")[0]["n"]
    duplicated = sum(e["times"] - 1 for e in effects)
    after = [t - lost_at for t in answered_at if t > lost_at]
    messages = inbox()
    ready = {name: get_json(f"http://127.0.0.1:{http_port(c)}/health/ready")[0] for name, c in containers.items()}
    print(
        f"\n[{loss}] sent {SUBMISSIONS}, attempts {attempts[0]}, answered {len(answers)}, refused during the "
        f"failover {refused[0]}, stored {len(stored)}, stored twice {len(doubled)}, events confirmed {confirmed}, "
        f"processed {len(effects)}, lost {2 * len(stored) - len(effects)}, duplicated {duplicated}, "
        f"inbox {messages['messages']} for {messages['recipients']} of {MERCHANTS} merchants, "
        f"untyped errors {len(untyped)}; first answer {min(after):.1f} s after the node was lost "
        f"(it was back after {OUTAGE_SECONDS} s)"
        if after
        else f"\n[{loss}] no answer after the loss"
    )
    try:
        assert untyped == []
        assert len(answers) == SUBMISSIONS, "every submission eventually answered"
        assert doubled == {}, "a retried submission was stored more than once"
        assert {refs[0] for refs in per_submission.values()} == set(answers.values())
        assert len(effects) == 2 * len(stored) and duplicated == 0
        assert messages == {"messages": MERCHANTS, "recipients": MERCHANTS}
        assert set(ready.values()) == {200}, ready
    finally:
        for container in containers.values():
            container.stop()  # while every node runs
