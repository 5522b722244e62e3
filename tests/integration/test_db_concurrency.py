"""Database work never blocks the eventlet hub; one transaction per worker."""

import time

import eventlet
import pytest
from nameko.exceptions import RemoteError

from alliance_platform.errors import Conflict, NotFound
from tests.support.helpers import query
from tests.support.probe import ProbeService


@pytest.fixture
def probe(container_factory, service_config):
    config = service_config("probe", kind="probe")
    container = container_factory(ProbeService, config)
    container.start()
    return config


def test_five_slow_queries_overlap_and_a_cheap_call_answers_meanwhile(probe, client):
    with client() as alliance:
        alliance.probe.ping()  # warm the connection pool and the reply queue
        started = time.monotonic()
        slow = [alliance.probe.sleep.call_async(seconds=1) for _ in range(5)]
        eventlet.sleep(0.1)  # let the five reach the database before timing the cheap call
        cheap_started = time.monotonic()
        assert alliance.probe.ping() == "pong"
        cheap = time.monotonic() - cheap_started
        assert [reply.result() for reply in slow] == [1.0] * 5
        total = time.monotonic() - started

    assert total < 2.0, f"5 concurrent pg_sleep(1) took {total:.2f}s: database waits block the hub"
    assert cheap < 0.2, f"a cheap call took {cheap * 1000:.0f} ms while the slow queries ran"


def test_a_committed_change_is_visible_when_the_caller_hears_success(probe, client):
    with client() as alliance:
        for n in range(20):
            alliance.probe.record_item(item_id=f"visible-{n}")
            # The reply is sent only after the commit: the very next read must find the row.
            assert alliance.probe.get_item(item_id=f"visible-{n}")["id"] == f"visible-{n}"


def test_a_refused_call_writes_nothing(probe, client):
    with client() as alliance:
        with pytest.raises(Conflict):
            alliance.probe.record_item_then_refuse(item_id="refused")
        with pytest.raises(NotFound):
            alliance.probe.get_item(item_id="refused")
    assert query(probe["DATABASE_URL"], "SELECT count(*) AS n FROM outbox")[0]["n"] == 0


def test_a_read_only_method_reads_without_a_transaction_and_cannot_publish(probe, client):
    with client() as alliance:
        alliance.probe.record_item(item_id="read-me")
        assert alliance.probe.get_item(item_id="read-me")["id"] == "read-me"
        with pytest.raises(RemoteError, match="read-only use case cannot run 'INSERT'"):
            alliance.probe.record_item_read_only(item_id="sneaky")
        with pytest.raises(NotFound):
            alliance.probe.get_item(item_id="sneaky")
    assert query(probe["DATABASE_URL"], "SELECT count(*) AS n FROM outbox")[0]["n"] == 1
