"""Internal systems over the broker: an administrator registers, lists, rotates and revokes them; a
system exchanges its credential (no token) for a person's token; the registry itself refuses that
token once the system is revoked, with nothing else to wait for."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, Unauthenticated, ValidationError
from alliance_platform.rpc import AllianceClient
from tests.support.helpers import wait_until
from tests.use_cases.registry.samples import merchant_fields, person_fields

MINIPROGRAM = {
    "name": "miniprogram",
    "grants": ["registry.get_merchant", "registry.update_merchant"],
    "kinds": ["merchant"],
    "districts": ["wholesale_city"],
    "max_ttl": 300,
}


def _anonymous(registry):
    return AllianceClient(registry.container.config["AMQP_URI"], None, timeout=10)


def _shop(registry, district="wholesale_city"):
    with registry.admin() as alliance:
        owner = alliance.registry.register_person(**person_fields(name="张店主"))
        return alliance.registry.register_merchant(**merchant_fields(district_id=district, owner_id=owner["person_id"]))


def test_only_an_administrator_registers_lists_rotates_and_revokes(registry):
    with registry.staff(roles=("staff",)) as staff, pytest.raises(Forbidden):
        staff.registry.register_system(**MINIPROGRAM)
    with registry.system() as other_system, pytest.raises(Forbidden):
        other_system.registry.list_systems()
    with registry.admin() as admin:
        system = admin.registry.register_system(**MINIPROGRAM)
        assert system["credential"].startswith("alliance-system.")
        assert [s["name"] for s in admin.registry.list_systems()] == ["miniprogram"]
        rotated = admin.registry.rotate_system_credential(system_id=system["system_id"])
        assert rotated["credential"] != system["credential"]
        revoked = admin.registry.revoke_system(system_id=system["system_id"], reason="测试结束")
        assert revoked["revoked_by"] == "staff:admin-1" and "credential" not in revoked
        with pytest.raises(Conflict):
            admin.registry.revoke_system(system_id=system["system_id"], reason="again")
        assert admin.registry.list_systems() == []


def test_a_system_acts_for_its_merchant_within_its_grants_until_it_is_revoked(registry):
    shop, other = _shop(registry), _shop(registry)
    with registry.admin() as admin:
        system = admin.registry.register_system(**MINIPROGRAM)
    with _anonymous(registry) as anonymous:
        exchanged = anonymous.registry.exchange_token(credential=system["credential"], merchant_id=shop["merchant_id"])
    assert exchanged["token_type"] == "Bearer" and exchanged["expires_in"] == 300
    assert (exchanged["kind"], exchanged["merchant_id"], exchanged["actor"]) == (
        "merchant",
        shop["merchant_id"],
        "miniprogram",
    )
    with registry.client(exchanged["token"]) as shop_app:
        assert shop_app.registry.get_merchant(merchant_id=shop["merchant_id"])["shop_name"] == shop["shop_name"]
        with pytest.raises(Forbidden):
            shop_app.registry.get_merchant(merchant_id=other["merchant_id"])  # another merchant
        with pytest.raises(Forbidden):
            shop_app.registry.search_merchants()  # outside the system's grants
        updated = shop_app.registry.update_merchant(merchant_id=shop["merchant_id"], unit_no="A1-001")
        assert updated["unit_no"] == "A1-001"

        with registry.admin() as admin:
            admin.registry.revoke_system(system_id=system["system_id"], reason="凭据泄露")
        # The registry recorded the revocation in the transaction itself: refused from the next call on.
        with pytest.raises(Unauthenticated, match="revoked"):
            shop_app.registry.get_merchant(merchant_id=shop["merchant_id"])
    with _anonymous(registry) as anonymous, pytest.raises(Unauthenticated):
        anonymous.registry.exchange_token(credential=system["credential"], merchant_id=shop["merchant_id"])
    # Its own event came back through the broker and changed nothing more.
    wait_until(
        lambda: registry.db("SELECT 1 FROM processed_events WHERE handler = 'registry.platform_system_access_revoked'"),
        message="the registry heard its own system_access_revoked",
    )
    assert len(registry.db("SELECT * FROM revoked_delegations")) == 1


def test_an_exchange_outside_the_limits_is_refused_with_a_typed_error(registry):
    outlets = _shop(registry, district="outlets")
    with registry.admin() as admin:
        system = admin.registry.register_system(**MINIPROGRAM)
        person = admin.registry.register_person(**person_fields(roles=["staff"]))
    with _anonymous(registry) as anonymous:
        with pytest.raises(Forbidden, match="district outlets"):
            anonymous.registry.exchange_token(credential=system["credential"], merchant_id=outlets["merchant_id"])
        with pytest.raises(Forbidden, match="staff"):
            anonymous.registry.exchange_token(credential=system["credential"], person_id=person["person_id"])
        with pytest.raises(ValidationError):
            anonymous.registry.exchange_token(
                credential=system["credential"], merchant_id=outlets["merchant_id"], ttl=301
            )
        with pytest.raises(ValidationError):
            anonymous.registry.exchange_token(credential=system["credential"])  # nobody named
        with pytest.raises(Unauthenticated):
            anonymous.registry.exchange_token(credential="alliance-system.guess", merchant_id=outlets["merchant_id"])


def test_a_token_that_expired_is_refused(registry):
    shop = _shop(registry)
    with registry.admin() as admin:
        system = admin.registry.register_system(**{**MINIPROGRAM, "max_ttl": 1})
    with _anonymous(registry) as anonymous:
        token = anonymous.registry.exchange_token(credential=system["credential"], merchant_id=shop["merchant_id"])
    with registry.client(token["token"]) as shop_app:

        def refused():
            try:
                shop_app.registry.get_merchant(merchant_id=shop["merchant_id"])
            except Unauthenticated as exc:
                return "expired" in str(exc)
            return False

        wait_until(refused, timeout=10, interval=0.2, message="the one-second token refused as expired")
