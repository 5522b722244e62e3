"""Delegation across services (issue 18, part 3; docs/contract/DELEGATION.md): the merchant
mini-program's backend, registered in the registry, exchanges its credential for a merchant's token
and submits that merchant's demand to the tickets service — never another merchant's; once an
administrator revokes it, the tickets service refuses the tokens it obtained (the registry's
system_access_revoked, heard by the platform's handler); an expired one is refused too."""

from datetime import UTC, datetime

import pytest

from alliance_platform.errors import Forbidden, Unauthenticated
from alliance_platform.rpc import AllianceClient
from tests.integration.tickets.conftest import START, TicketsHarness, demand
from tests.support.helpers import query, wait_until
from tests.use_cases.registry.samples import merchant_fields, person_fields

MINIPROGRAM = {
    "name": "miniprogram",
    "grants": ["tickets.submit_ticket", "tickets.get_ticket"],
    "kinds": ["merchant"],
    "districts": ["wholesale_city"],
    "max_ttl": 600,
}


@pytest.fixture
def alliance(service_harness):
    """The registry and the tickets service on one broker, the tickets' read model fed by the registry."""
    registry = service_harness("registry", datetime.now(UTC))
    tickets = service_harness("tickets", START, harness=TicketsHarness)
    return registry, tickets


def _shop(registry, tickets, district="wholesale_city"):
    with registry.admin() as admin:
        owner = admin.registry.register_person(**person_fields(name="张店主", district_id=district))
        shop = admin.registry.register_merchant(**merchant_fields(district_id=district, owner_id=owner["person_id"]))
    known = "SELECT 1 FROM merchant_directory WHERE merchant_id = %s"
    wait_until(
        lambda: query(tickets.database, known, (shop["merchant_id"],)),
        message="the tickets service knows the merchant",
    )
    return shop


def _exchange(registry, credential, **whom):
    with AllianceClient(registry.container.config["AMQP_URI"], None, timeout=10) as anonymous:
        return anonymous.registry.exchange_token(credential=credential, **whom)


def _system(registry, **overrides):
    with registry.admin() as admin:
        return admin.registry.register_system(**{**MINIPROGRAM, **overrides})


def test_a_delegated_merchant_token_submits_for_its_merchant_only_until_the_system_is_revoked(alliance):
    registry, tickets = alliance
    shop, other = _shop(registry, tickets), _shop(registry, tickets)
    system = _system(registry)
    token = _exchange(registry, system["credential"], merchant_id=shop["merchant_id"])["token"]
    with tickets.client(token) as app:
        ticket = app.tickets.submit_ticket(**demand(shop["merchant_id"]))
        assert app.tickets.get_ticket(ticket_id=ticket["ticket_id"])["ticket_id"] == ticket["ticket_id"]
        (row,) = query(tickets.database, "SELECT merchant_id::text, requester_id::text FROM tickets")
        assert row == {"merchant_id": shop["merchant_id"], "requester_id": shop["owner_id"]}  # the owner, as acted for
        with pytest.raises(Forbidden):
            app.tickets.submit_ticket(**demand(other["merchant_id"]))  # another merchant
        with pytest.raises(Forbidden):
            app.tickets.list_tickets()  # a method outside the system's grants

        with registry.admin() as admin:
            admin.registry.revoke_system(system_id=system["system_id"], reason="小程序后台下线")

        def refused():
            try:
                app.tickets.get_ticket(ticket_id=ticket["ticket_id"])
            except Unauthenticated as exc:
                return "revoked" in str(exc)
            return False

        wait_until(refused, message="the tickets service refuses the revoked system's token")
        with pytest.raises(Unauthenticated, match="revoked"):
            app.tickets.submit_ticket(**demand(shop["merchant_id"]))
    # The merchant's own token (no delegation) is not touched by it.
    with tickets.merchant(shop["merchant_id"], person_id=shop["owner_id"]) as own:
        assert own.tickets.get_ticket(ticket_id=ticket["ticket_id"])["ticket_id"] == ticket["ticket_id"]


def test_an_expired_delegated_token_is_refused_and_one_outside_the_limits_never_issued(alliance):
    registry, tickets = alliance
    shop, outlets = _shop(registry, tickets), _shop(registry, tickets, district="outlets")
    system = _system(registry, max_ttl=1)
    with pytest.raises(Forbidden, match="district outlets"):
        _exchange(registry, system["credential"], merchant_id=outlets["merchant_id"])
    with registry.admin() as admin:
        staff = admin.registry.register_person(**person_fields(roles=["staff"]))
    with pytest.raises(Forbidden, match="staff"):
        _exchange(registry, system["credential"], person_id=staff["person_id"])

    token = _exchange(registry, system["credential"], merchant_id=shop["merchant_id"])["token"]
    with tickets.client(token) as app:

        def refused():
            try:
                app.tickets.submit_ticket(**demand(shop["merchant_id"]))
            except Unauthenticated as exc:
                return "expired" in str(exc)
            return False

        wait_until(refused, timeout=10, interval=0.2, message="the one-second token refused as expired")
