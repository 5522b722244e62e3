"""Whole messages are bounded: an oversized request is refused with a typed error before it is
parsed, an oversized event goes to the dead letters at once; neither changes anything."""

import time

import pytest

from alliance_ops.deadletters import list_dead_letters
from alliance_platform.errors import ValidationError
from tests.support.helpers import publish, query, wait_until
from tests.support.probe import ProbeConsumer, ProbeService


def test_an_oversized_request_is_refused_before_it_is_parsed(container_factory, service_config, client):
    container = container_factory(ProbeService, service_config("probe", kind="probe", RPC_MAX_REQUEST_BYTES=100_000))
    container.start()
    with client(timeout=10) as alliance:
        alliance.retries = 0
        began = time.monotonic()
        with pytest.raises(ValidationError, match="request too large") as refused:
            alliance.probe.record_item(item_id="big", aggregate="a" * 200_000)
        refused_in = time.monotonic() - began
        assert "at most 100000" in str(refused.value.fields["_message"])
        assert alliance.probe.record_item(item_id="small")["item_id"] == "small"  # the service goes on
    print(f"a 200 kB request refused in {refused_in * 1000:.0f} ms")
    assert [r["id"] for r in query(container.config["DATABASE_URL"], "SELECT id FROM probe_items")] == ["small"]


def test_a_method_may_take_larger_requests_than_the_default():
    from alliance_registry.service import RegistryService

    assert RegistryService.import_merchants.rpc_max_request_bytes > 20 * 1024 * 1024


def test_an_oversized_event_is_dead_lettered_unparsed(container_factory, service_config):
    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe", EVENT_MAX_BYTES=10_000))
    consumer.start()
    amqp_uri = consumer.config["AMQP_URI"]
    publish(amqp_uri, "probe", "item_recorded", {"padding": "x" * 20_000})
    letters = wait_until(lambda: list_dead_letters(amqp_uri, "probe_consumer"), message="the dead letter")
    assert "events take at most 10000" in letters[0].error and letters[0].attempts == 0
    assert query(consumer.config["DATABASE_URL"], "SELECT count(*) AS n FROM probe_effects")[0]["n"] == 0
