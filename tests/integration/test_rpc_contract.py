"""Typed errors, validated input and caller identity over the real broker."""

import pytest

from alliance_platform import grants, keys
from alliance_platform.config import load_config
from alliance_platform.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)
from alliance_platform.identity import TokenService
from tests.support.helpers import query
from tests.support.probe import ProbeConsumer, ProbeService


def _stranger(kid=None):
    """An issuer whose key no service knows (even one that borrows a known key id)."""
    key = keys.generate(keys.PEOPLE, kid=kid)
    return TokenService(keys.KeySet([key.public()]), key)


@pytest.fixture(autouse=True)
def _probe_grants(monkeypatch):
    """The probe's own calls, granted as a service's row of RPC_CALLS grants them."""
    monkeypatch.setitem(grants.RPC_CALLS, "probe", ["probe_consumer.*"])


@pytest.fixture
def probe(runner_factory, service_config):
    config = service_config("probe", kind="probe")
    runner = runner_factory(config, ProbeService, ProbeConsumer)
    runner.start()
    return config


def _count_items(config):
    return query(config["DATABASE_URL"], "SELECT count(*) AS n FROM probe_items")[0]["n"]


def test_validation_error_carries_field_messages_and_writes_nothing(probe, client):
    with client() as alliance, pytest.raises(ValidationError) as caught:
        alliance.probe.record_item(item_id="", seq="not a number", colour="red")
    assert set(caught.value.fields) == {"item_id", "seq", "colour"}
    assert _count_items(probe) == 0


def test_a_value_the_database_cannot_store_is_a_validation_error(probe, client):
    with client() as alliance:
        with pytest.raises(ValidationError, match="invalid input"):
            alliance.probe.record_item(item_id="nul\x00byte")
    assert _count_items(probe) == 0


def test_positional_arguments_follow_the_schema_field_order(probe, client):
    with client() as alliance:
        assert alliance.probe.record_item("positional", "agg", 3) == {
            "item_id": "positional",
            "aggregate": "agg",
            "seq": 3,
        }
        with pytest.raises(ValidationError):
            alliance.probe.record_item("a", "b", 1, "one too many")
        with pytest.raises(ValidationError):
            alliance.probe.record_item("twice", item_id="twice")


def test_not_found_and_conflict_are_caught_by_class(probe, client):
    with client() as alliance:
        with pytest.raises(NotFound):
            alliance.probe.get_item(item_id="missing")
        alliance.probe.record_item(item_id="dup")
        with pytest.raises(Conflict):
            alliance.probe.record_item(item_id="dup")
    assert _count_items(probe) == 1


@pytest.mark.parametrize(
    "token_of",
    [
        pytest.param(lambda tokens: None, id="missing"),
        pytest.param(lambda tokens: "not-a-token", id="garbage"),
        pytest.param(
            lambda tokens: tokens.issue("admin-1", "staff", roles=["admin"], ttl=60, now=1_000_000), id="expired"
        ),
        pytest.param(lambda tokens: _stranger().issue("admin-1", "staff", roles=["admin"]), id="forged"),
        pytest.param(lambda tokens: _stranger(kid="dev-people-1").issue("admin-1", "staff"), id="forged-kid"),
        pytest.param(
            lambda tokens: (
                TokenService.for_service(load_config("notifications")).issue(
                    "notifications", "system", roles=["system"]
                )[:-4]
                + "AAAA"
            ),
            id="tampered",
        ),
    ],
)
def test_a_call_without_a_valid_identity_is_unauthenticated(probe, rabbit_config, tokens, token_of):
    from alliance_platform.rpc import AllianceClient

    with AllianceClient(rabbit_config["AMQP_URI"], token_of(tokens), timeout=5) as alliance:
        with pytest.raises(Unauthenticated):
            alliance.probe.record_item(item_id="intruder")
    assert _count_items(probe) == 0


def test_a_role_outside_the_methods_allowance_is_forbidden(probe, client, tokens):
    merchant = tokens.issue("m-1", "merchant", roles=["merchant"], merchant_id="m-1")
    with client(merchant) as alliance:
        assert alliance.probe.ping() == "pong"  # any verified caller
        with pytest.raises(Forbidden):
            alliance.probe.record_item(item_id="not-yours")
    assert _count_items(probe) == 0


def test_a_service_calls_another_with_its_own_identity_and_the_callers_correlation_id(probe, client):
    with client(correlation_id="corr-42") as alliance:
        seen = alliance.probe.whoami_downstream()
    assert seen == {"kind": "system", "subject": "probe", "correlation_id": "corr-42"}


def test_every_wait_has_a_timeout(runner_factory, service_config, client):
    config = service_config("probe", kind="probe", RPC_TIMEOUT=0.3)
    runner = runner_factory(config, ProbeService, ProbeConsumer)
    runner.start()
    with client(timeout=5) as alliance, pytest.raises(ServiceTimeout):
        alliance.probe.call_slow_downstream(seconds=2)
    with client(timeout=0.3) as alliance, pytest.raises(ServiceTimeout):
        alliance.probe_consumer.slow(seconds=2)


def test_calling_a_service_that_is_not_running_is_unavailable(client):
    with client() as alliance, pytest.raises(ServiceUnavailable):
        alliance.nobody.ping()


def test_a_redelivered_command_is_answered_from_its_stored_result_not_carried_out_again(
    container_factory, service_config, admin_token
):
    """The connection drops after the commit, before the reply: the broker delivers the request
    again (flagged redelivered). It gets the same answer; the item is not recorded twice."""
    from kombu import Connection, Exchange, Queue

    config = service_config("probe", kind="probe")
    rpc_exchange = Exchange("nameko-rpc", type="topic", durable=True)
    request = {"args": [], "kwargs": {"item_id": "once", "aggregate": "a", "seq": 1}}
    properties = {
        "correlation_id": "request-42",
        "reply_to": "test-replies",
        "headers": {"nameko.authorization": admin_token},
        "serializer": "json",
    }
    with Connection(config["AMQP_URI"]) as conn:
        replies = Queue("test-replies", exchange=rpc_exchange, routing_key="test-replies", durable=False)
        replies(conn.default_channel).declare()
        container = container_factory(ProbeService, config)
        container.start()
        conn.Producer().publish(request, exchange=rpc_exchange, routing_key="probe.record_item", **properties)
        with conn.SimpleQueue(replies) as inbox:
            first = inbox.get(timeout=10)
            first.ack()
        container.stop()

        # The same request again, as the broker hands out a message whose consumer went away.
        conn.Producer().publish(request, exchange=rpc_exchange, routing_key="probe.record_item", **properties)
        channel = conn.channel()
        message = channel.basic_get("rpc-probe")
        channel.basic_reject(message.delivery_tag, requeue=True)
        channel.close()
        again = container_factory(ProbeService, config)
        again.start()
        with conn.SimpleQueue(replies) as inbox:
            second = inbox.get(timeout=10)
            second.ack()
    assert first.payload == second.payload
    assert first.payload["error"] is None and first.payload["result"]["item_id"] == "once"
    assert _count_items(config) == 1
