"""``alliance changes``: who changed a merchant, asked of every service and merged into one table
ordered by time (issue 18, audit) — the registry's and the tickets service's, over the real broker."""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from alliance_ops.cli import main
from alliance_platform import logs
from tests.support.helpers import query, wait_until
from tests.use_cases.registry.samples import merchant_fields

START = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _invoke(*args):
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})
    finally:
        logs.configure(fmt="console", level="WARNING")
    return result.exit_code, result.stdout, result.stderr


def test_the_changes_to_a_merchant_from_two_services_in_one_table_by_time(service_harness, monkeypatch, tokens):
    registry = service_harness("registry", START)
    tickets = service_harness("tickets", START)
    # One clock for both, as on one machine: the tickets service's reads the registry's offset.
    shared = tickets.time.path.with_suffix(".shared")
    shared.write_text(registry.time.path.read_text())
    os.replace(shared, tickets.time.path)  # its clock never reads a half-written offset
    monkeypatch.setenv("AMQP_URI", registry.container.config["AMQP_URI"])
    with registry.admin() as alliance:
        merchant_id = alliance.registry.register_merchant(**merchant_fields())["merchant_id"]
    wait_until(
        lambda: query(tickets.database, "SELECT 1 FROM merchant_directory WHERE merchant_id = %s", (merchant_id,)),
        message="the tickets service to learn of the merchant",
    )
    shop = tokens.issue("owner-1", "merchant", roles=["merchant"], merchant_id=merchant_id)
    with tickets.client(shop) as alliance:
        ticket = alliance.tickets.submit_ticket(
            merchant_id=merchant_id,
            category="bank_financing",
            title="申请小微企业经营贷款",
            description="店铺扩大经营，需要周转资金约50万元。",
            handling_mode="assisted",
        )

    asked = ("--service", "registry", "--service", "tickets")
    code, output, errors = _invoke("changes", "--merchant", merchant_id, *asked)
    assert code == 0, errors
    lines = [line for line in output.splitlines() if "registry" in line or "tickets" in line]
    # One table, oldest first: the registration, the tickets service taking note of it, the demand.
    kinds = ("register_merchant", "handle_registry_", "submit_ticket")
    assert [next(w for w in kinds if w in line) for line in lines] == [
        "register_merchant",
        "handle_registry_",
        "submit_ticket",
    ]
    assert "staff:admin-1" in lines[0] and "event:registry.merchant_registered" in lines[1]
    assert "merchant:owner-1" in lines[2] and f"ticket:{ticket['ticket_id']}" in lines[2]
    assert "3 change(s) from 2 service(s)" in output

    code, _, errors = _invoke("changes", "--merchant", merchant_id, "--person", "p-1")
    assert code == 2 and "one of --merchant" in errors
