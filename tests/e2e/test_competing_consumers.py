"""Scaling out a service: two `alliance-service tickets` processes sharing one database consume
the registry's merchant_registered events together (competing consumers on one queue). Every
event takes effect exactly once overall, both processes do work, and SIGTERM to one of them in
the middle of the stream loses nothing: it finishes what it holds, returns what it had not
started, and exits within 25 s."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import eventlet

from alliance_contracts import example_envelopes
from alliance_platform.store import make_pool, transaction
from tests.support.helpers import get_json, query, wait_until
from tests.support.servers import free_ports

EVENTS = 600
BATCH = 20
HANDLER = "handle_registry_merchant_registered"


class ServiceProcess:
    """One `alliance-service NAME` process with JSON logs in a file of its own."""

    def __init__(self, name, env, log_path):
        port = free_ports(1)[0]
        self.name = name
        self.ready_url = f"http://127.0.0.1:{port}/health/ready"
        self.log_path = log_path
        env = {**env, f"{name.upper()}_HTTP_ADDRESS": f"127.0.0.1:{port}"}
        executable = Path(sys.executable).with_name("alliance-service")
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [str(executable), name], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def ready(self):
        try:
            return get_json(self.ready_url, timeout=2)[0] == 200
        except OSError:
            return False

    def handled(self):
        """How many merchant_registered events this process handled, from its log lines."""
        count = 0
        for line in self.log_path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "call handled" and entry.get("entrypoint") == HANDLER:
                count += 1
        return count

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def _publish_merchants(registry_db, count):
    """Commit ``count`` merchant_registered events to the registry's outbox, in small
    transactions spread over about a second, as the registry's use cases would; its relay
    (running in the registry process) publishes them."""
    template = example_envelopes("registry", "merchant_registered")[0]["payload"]
    pool = make_pool(registry_db, max_size=1, name="competing-consumers-test")
    pool.open()
    ids = []
    try:
        for start in range(0, count, BATCH):
            with transaction(pool, "registry") as session:
                for n in range(start, min(start + BATCH, count)):
                    merchant_id = str(uuid.uuid4())
                    payload = {
                        **template,
                        "merchant_id": merchant_id,
                        "shop_name": f"测试商户{n}",
                        "registered_at": datetime.now(UTC),
                    }
                    session.publish("merchant_registered", payload, aggregate_id=merchant_id)
                    ids.append(merchant_id)
            eventlet.sleep(0.03)
    finally:
        pool.close()
    return ids


def test_two_processes_share_the_events_and_one_stops_without_losing_any(rabbit_config, fresh_database, tmp_path):
    registry_db, tickets_db = fresh_database("registry"), fresh_database("tickets")
    env = {
        **os.environ,
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "REGISTRY_DATABASE_URL": registry_db,
        "TICKETS_DATABASE_URL": tickets_db,
        "ALLIANCE_LOG_FORMAT": "json",
        "ALLIANCE_LOG_LEVEL": "INFO",
        "ALLIANCE_OUTBOX_POLL_INTERVAL": "0.05",
    }
    processes = [
        ServiceProcess("registry", env, tmp_path / "registry.log"),
        victim := ServiceProcess("tickets", env, tmp_path / "tickets-a.log"),
        survivor := ServiceProcess("tickets", env, tmp_path / "tickets-b.log"),
    ]
    try:
        for process in processes:
            wait_until(process.ready, timeout=60, interval=0.2, message=f"{process.log_path.name} ready")

        producer = eventlet.spawn(_publish_merchants, registry_db, EVENTS)

        def victim_busy():
            if producer.dead:
                producer.wait()  # re-raises what stopped the producer
            return victim.handled() >= 50

        wait_until(victim_busy, timeout=30, interval=0.05, message="tickets-a to handle events")
        assert not producer.dead, "SIGTERM must reach tickets-a while events are still being published"
        stopping = time.monotonic()
        assert victim.stop() == 0
        stopped_after = time.monotonic() - stopping
        ids = producer.wait()

        wait_until(
            lambda: query(tickets_db, "SELECT count(*) AS n FROM merchant_directory")[0]["n"] == EVENTS,
            timeout=60,
            message=f"all {EVENTS} merchants in the tickets read model",
        )
    finally:
        codes = [process.stop() for process in processes]
    assert codes == [0, 0, 0]
    assert stopped_after < 25

    directory = {row["merchant_id"] for row in query(tickets_db, "SELECT merchant_id::text FROM merchant_directory")}
    assert directory == set(ids)
    # processed_events holds one row per (handler, event id): the effects committed, once each.
    claimed = query(
        tickets_db, "SELECT count(*) AS n FROM processed_events WHERE handler = %s", (f"tickets.{HANDLER}",)
    )
    assert claimed[0]["n"] == EVENTS
    a, b = victim.handled(), survivor.handled()
    print(f"tickets-a handled {a} (stopped after {stopped_after:.1f}s), tickets-b handled {b}")
    assert a > 0 and b > 0
    # A redelivered event that had already taken effect is skipped by the inbox, not applied twice.
    assert a + b >= EVENTS
