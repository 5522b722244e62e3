"""The operator's command line against the real broker and database."""

import pytest
from click.testing import CliRunner
from kombu import Connection, Exchange

from alliance_platform import logs
from alliance_platform.cli import main
from alliance_platform.config import service_class
from alliance_platform.identity import TokenService
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


def test_dead_letters_are_listed_and_replayed_with_one_command(tickets):
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
