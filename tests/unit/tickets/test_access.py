"""Who may see and handle a ticket, decided on the ticket, and what a caller's lists cover."""

import pytest

from alliance_platform.errors import Forbidden
from alliance_tickets.domain import access
from tests.support.harness import identity

MERCHANT = "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f"
TICKET = {
    "reference": "DM-2026-000001",
    "merchant_id": MERCHANT,
    "district_id": "wholesale_city",
    "responsible_id": "owner",
    "proposed_id": "proposed",
}


def shop(merchant_id=MERCHANT):
    return identity("merchant", ["merchant"], ["wholesale_city"], subject="shop", merchant_id=merchant_id)


@pytest.mark.parametrize(
    "caller, handles",
    [
        (identity("staff", ["staff"], ["wholesale_city"]), True),
        (identity("staff", ["staff"], ["aodele"]), False),
        (identity("staff", ["staff"], ["aodele"], subject="owner"), True),
        (identity("staff", ["volunteer"], ["aodele"], subject="proposed"), True),
        (identity("staff", ["party_member"], ["wholesale_city"]), False),
        (identity("staff", ["admin"], ["*"]), True),
        (shop(), False),
    ],
    ids=["district-staff", "other-district", "owner", "proposed", "no-handler-role", "admin", "merchant"],
)
def test_a_handler_holds_a_handler_role_and_covers_the_district_or_the_case(caller, handles):
    assert access.is_handler_of(caller, TICKET) is handles
    if not handles:
        with pytest.raises(Forbidden):
            access.require_handler(caller, TICKET)


def test_a_merchant_sees_its_own_tickets_without_their_internals():
    assert access.is_merchant_of(shop(), TICKET) and not access.sees_internals(shop(), TICKET)
    access.require_view(shop(), TICKET)
    with pytest.raises(Forbidden):
        access.require_view(shop("00000000-0000-4000-8000-000000000000"), TICKET)
    assert access.sees_internals(identity("staff", ["staff"], ["wholesale_city"]), TICKET)


def test_the_service_signs_what_it_does_itself():
    assert access.actor(None) == access.SERVICE_ACTOR == "system:tickets"
    assert access.actor(identity("staff", subject="p-1")) == "staff:p-1"


def test_lists_cover_the_merchant_everything_or_the_districts_and_own_cases():
    assert access.scope_of(shop()) == access.Scope(merchant_id=MERCHANT)
    assert access.scope_of(identity("staff", ["admin"], ["outlets"])).everything
    assert access.scope_of(identity("system", ["system"], [])).everything
    scope = access.scope_of(identity("staff", ["staff"], ["outlets", "aodele"], subject="p-2"))
    assert scope == access.Scope(districts=("aodele", "outlets"), person_id="p-2")
