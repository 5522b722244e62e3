"""The operator's command line against the real broker and database."""

import re

import pytest
from click.testing import CliRunner
from kombu import Connection, Exchange

from alliance_ops.cli import main
from alliance_platform import logs
from alliance_platform.config import service_class
from alliance_platform.identity import TokenService
from alliance_registry.domain.identifiers import make_credit_code
from tests.support.helpers import wait_until


@pytest.fixture
def tickets(container_factory, service_config, monkeypatch):
    config = service_config("tickets")
    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    container = container_factory(service_class("tickets"), config)
    container.start()
    return container


def _invoke(*args):
    """(exit code, stdout, stderr) of ``alliance ARGS``; stderr carries logs and error messages."""
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})
    finally:
        logs.configure(fmt="console", level="WARNING")  # the CLI pointed logging at the runner's stderr
    return result.exit_code, result.stdout, result.stderr


def test_dead_letters_are_listed_and_replayed_with_one_command(tickets, monkeypatch):
    with Connection(tickets.config["AMQP_URI"]) as conn:
        conn.Producer().publish(
            {"event_type": "merchant_registered"},  # no envelope: dead-lettered on arrival
            exchange=Exchange("registry.events", type="topic", durable=True),
            routing_key="merchant_registered",
            serializer="json",
        )
    wait_until(lambda: "1 dead letter(s)" in _invoke("dead-letters", "list", "tickets")[1], message="a dead letter")
    code, listing, _ = _invoke("dead-letters", "list", "tickets")
    assert code == 0 and "invalid envelope" in listing and "handle_registry_merchant_registered" in listing
    # When it died, in the alliance's local time (the platform's TIMEZONE, from the environment too).
    assert "dead at (+08:00)" in listing and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", listing)
    monkeypatch.setenv("ALLIANCE_TIMEZONE", "UTC")
    assert "dead at (+00:00)" in _invoke("dead-letters", "list", "tickets")[1]
    monkeypatch.delenv("ALLIANCE_TIMEZONE")

    code, output, errors = _invoke("dead-letters", "replay", "tickets", "no-such-id")
    assert (code, output) == (1, "tickets: 0 dead letter(s) replayed\n") and "not found: no-such-id" in errors
    code, output, _ = _invoke("dead-letters", "replay", "tickets", "--all")
    assert (code, output) == (0, "tickets: 1 dead letter(s) replayed\n")
    # Replayed into the handler's queue, still poison, it comes straight back: nothing is lost.
    wait_until(lambda: "1 dead letter(s)" in _invoke("dead-letters", "list", "tickets")[1], message="it to return")


def test_replay_without_ids_or_all_is_a_usage_error():
    code, _, errors = _invoke("dead-letters", "replay", "tickets")
    assert code == 2 and "--all" in errors


def test_token_prints_a_verifiable_identity():
    code, output, _ = _invoke("token", "--subject", "p-1", "--kind", "staff", "--role", "staff", "--district", "aodele")
    assert code == 0
    from alliance_platform.config import load_config

    identity = TokenService.from_config(load_config("registry")).verify(output.strip())
    assert (identity.subject, identity.roles, identity.districts) == ("p-1", {"staff"}, {"aodele"})
    assert _invoke("token", "--subject", "p", "--kind", "staff", "--role", "emperor")[0] == 2


@pytest.fixture
def registry(container_factory, service_config):
    container = container_factory(service_class("registry"), service_config("registry"))
    container.start()
    return container


def test_a_merchant_token_made_as_the_help_says_opens_its_own_records(registry, client):
    with client() as admin:
        owner = admin.registry.register_person(name="孙店主", mobile="13900003333", district_id="outlets")
        merchant = admin.registry.register_merchant(
            shop_name="奥莱童装店",
            district_id="outlets",
            category="童装",
            credit_code=make_credit_code("91371400CL2000001"),
            owner_id=owner["person_id"],
        )
    code, help_text, _ = _invoke("token", "--help")
    assert code == 0 and "--kind merchant --subject PERSON_ID --merchant-id MERCHANT_ID" in help_text
    code, output, _ = _invoke(
        "token", "--kind", "merchant", "--subject", owner["person_id"], "--merchant-id", merchant["merchant_id"]
    )
    assert code == 0
    with client(output.strip()) as shop:
        assert shop.registry.get_merchant(merchant_id=merchant["merchant_id"])["shop_name"] == "奥莱童装店"
        assert shop.registry.get_person(person_id=owner["person_id"])["name"] == "孙店主"


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["--kind", "merchant", "--subject", "{merchant}"], "--kind merchant needs --merchant-id"),
        (["--kind", "merchant", "--subject", "{merchant}", "--merchant-id", "{merchant}"], "is the merchant's id"),
        (["--kind", "merchant", "--subject", "shop-1", "--merchant-id", "{merchant}"], "is not a person id"),
        (["--kind", "merchant", "--subject", "{person}", "--merchant-id", "shop-1"], "is not a merchant id"),
        (["--kind", "staff", "--subject", "{person}", "--merchant-id", "{merchant}"], "only for --kind merchant"),
    ],
)
def test_a_merchant_token_used_wrongly_is_a_usage_error_that_says_why(args, complaint):
    ids = {"merchant": "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f", "person": "9b1d0c4e-2f3a-4b5c-8d6e-7f8a9b0c1d2e"}
    code, output, errors = _invoke("token", *(a.format(**ids) for a in args))
    assert (code, output) == (2, "") and complaint in errors
