"""With the broker down, changes still commit; once it is back every event arrives, once.

The test runs its own RabbitMQ node (other ports, data in a temporary folder) and stops only that.
"""

import pytest

from alliance_platform.config import platform_defaults
from alliance_platform.db import make_pool, transaction
from alliance_platform.testing.servers import PrivateRabbit, workdir
from tests.support.helpers import query, wait_until
from tests.support.probe import ProbeConsumer, ProbeService, record_item

CHANGES = 200


@pytest.fixture
def rabbit():
    with workdir("alliance-rabbit-") as folder, PrivateRabbit(folder) as broker:
        yield broker


def _config(rabbit, database):
    return {
        **platform_defaults(),
        "AMQP_URI": rabbit.amqp_uri,
        "DATABASE_URL": database,
        "WEB_SERVER_ADDRESS": "127.0.0.1:0",
        "OUTBOX_POLL_INTERVAL": 0.1,
        "OUTBOX_MAX_BACKOFF": 1,
        "EVENT_RETRY_DELAYS_MS": [50, 100],
    }


def test_changes_committed_while_the_broker_is_down_all_arrive_exactly_once(rabbit, container_factory, fresh_database):
    consumer = container_factory(ProbeConsumer, _config(rabbit, fresh_database("probe")))
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
