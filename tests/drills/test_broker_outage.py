"""With the broker down, changes still commit; once it is back every event arrives, once.

The test runs its own RabbitMQ node (other ports, data in a temporary folder) and stops only that.
"""

import os
import time

import eventlet
import pytest

from alliance_platform.config import platform_defaults
from alliance_platform.store import make_pool, transaction
from tests.support.helpers import get_json, http_port, query, wait_until
from tests.support.probe import ProbeConsumer, ProbeService, record_item
from tests.support.servers import PrivateRabbit, workdir
from tests.support.signers import signer_config

CHANGES = 200


@pytest.fixture
def rabbit():
    with workdir("alliance-rabbit-") as folder, PrivateRabbit(folder) as broker:
        yield broker


def _config(rabbit, database, name="probe"):
    return {
        **platform_defaults(),
        **signer_config(name),
        "AMQP_URI": rabbit.amqp_uri,
        "DATABASE_URL": database,
        "WEB_SERVER_ADDRESS": "127.0.0.1:0",
        "OUTBOX_POLL_INTERVAL": 0.1,
        "OUTBOX_MAX_BACKOFF": 1,
        "EVENT_RETRY_DELAYS_MS": [50, 100],
    }


def test_changes_committed_while_the_broker_is_down_all_arrive_exactly_once(rabbit, container_factory, fresh_database):
    consumer = container_factory(ProbeConsumer, _config(rabbit, fresh_database("probe"), "probe_consumer"))
    producer = container_factory(ProbeService, _config(rabbit, fresh_database("probe")))
    consumer.start()
    producer.start()
    producer_db, consumer_db = producer.config["DATABASE_URL"], consumer.config["DATABASE_URL"]

    rabbit.stop()
    pool = make_pool(producer_db, max_size=2, name="outage-test")
    pool.open()
    try:
        for n in range(CHANGES):
            with transaction(pool, "probe") as session:
                record_item(session, {"item_id": f"item-{n}", "aggregate": f"agg-{n % 7}", "seq": n})
    finally:
        pool.close()
    assert query(producer_db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")[0]["n"] == CHANGES

    rabbit.start()
    wait_until(
        lambda: query(consumer_db, "SELECT count(*) AS n FROM probe_effects")[0]["n"] >= CHANGES,
        timeout=90,
        message=f"{CHANGES} events processed after the broker came back",
    )
    effects = query(consumer_db, "SELECT item_id, count(*) AS times FROM probe_effects GROUP BY item_id")
    print(f"sent {CHANGES}, processed {len(effects)}, duplicated {sum(e['times'] - 1 for e in effects)}")
    assert len(effects) == CHANGES and all(e["times"] == 1 for e in effects)
    assert query(producer_db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")[0]["n"] == 0
    consumer.stop()
    producer.stop()


# Long enough that the old growing backoff (0.2·2ⁿ s) would be asleep for ~21 s when the broker
# answers again (its tries at 25.4 s and 51 s): the assertion below tells the two apart. Longer
# outages prove no more and cost the suite a minute each (ALLIANCE_DRILL_OUTAGE_SECONDS=90 for one).
OUTAGE_SECONDS = int(os.environ.get("ALLIANCE_DRILL_OUTAGE_SECONDS", 30))


def test_after_a_long_outage_the_relay_publishes_at_once_and_readiness_tells_meanwhile(
    rabbit, container_factory, fresh_database
):
    """The relay's reconnect wait is capped (OUTBOX_RECONNECT_MAX), not grown through the outage:
    with the platform's defaults (no test overrides of the backoff), the relay publishes within
    seconds of the broker answering again, and readiness says when it cannot publish."""
    config = {
        **_config(rabbit, fresh_database("probe")),
        "OUTBOX_MAX_BACKOFF": platform_defaults()["OUTBOX_MAX_BACKOFF"],
    }
    producer = container_factory(ProbeService, config)
    producer.start()
    ready_url = f"http://127.0.0.1:{http_port(producer)}/health/ready"
    wait_until(lambda: get_json(ready_url)[0] == 200, timeout=30, message="the producer ready")
    pool = make_pool(config["DATABASE_URL"], max_size=1, name="outage-drill")
    pool.open()

    def commit(item_id):
        with transaction(pool, "probe") as session:
            record_item(session, {"item_id": item_id, "aggregate": item_id, "seq": 1})

    def published(item_id):
        rows = query(config["DATABASE_URL"], "SELECT published_at FROM outbox WHERE aggregate_id = %s", (item_id,))
        return bool(rows and rows[0]["published_at"])

    try:
        commit("before")
        wait_until(lambda: published("before"), timeout=30, message="the first event published")
        began = time.monotonic()
        rabbit.stop()
        commit("during")  # wakes the relay, which finds the broker gone
        status, report = wait_until(
            lambda: (
                (answer := get_json(ready_url))
                and answer[1].get("relay", {}).get("state") == "cannot publish"
                and answer
            ),
            timeout=60,
            message="readiness to report the relay unable to publish",
        )
        assert status == 503 and report["status"] == "not ready"
        eventlet.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - began)))  # the outage itself
        assert not published("during")
        rabbit.start()
        back = time.monotonic()
        wait_until(lambda: published("during"), timeout=120, message="the event committed during the outage")
        delay = time.monotonic() - back
        status, report = wait_until(
            lambda: (answer := get_json(ready_url))[0] == 200 and answer, timeout=60, message="ready again"
        )
        print(f"outage {OUTAGE_SECONDS} s; relay published {delay:.2f} s after the broker answered again")
        assert report["relay"]["state"] == "publishing"
        # Before, the relay slept out a backoff grown through the outage (0.2·2ⁿ s, up to 300 s):
        # ~21 s after a 30 s outage, 27 s and more after a 90 s one. Now it tries every
        # OUTBOX_RECONNECT_MAX (1 s).
        assert delay < 15, f"the relay published {delay:.1f} s after the broker came back"
    finally:
        pool.close()
    producer.stop()  # while its broker runs: nameko would retry a stopped broker for ever


def test_a_service_asked_to_stop_while_its_broker_is_down_stops(rabbit, container_factory, fresh_database):
    """nameko's own consumer retries a broker that is down for ever, even once the container is
    stopping: a service told to stop during an outage never finished. The platform's gives up."""
    producer = container_factory(ProbeService, _config(rabbit, fresh_database("probe")))
    producer.start()
    rabbit.stop()
    stopping = eventlet.spawn(producer.stop)
    began = time.monotonic()
    with eventlet.Timeout(120, AssertionError("the service did not stop within 120 s of being asked")):
        stopping.wait()
    print(f"stopped {time.monotonic() - began:.1f} s after being asked, the broker down")
