"""Internal systems and delegation (domain/systems.py): an administrator registers a system with its
limits, the system exchanges its credential for short-lived tokens of the people it acts for, and
a revoked or rotated credential exchanges nothing."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from alliance_registry import queries, use_cases
from alliance_registry.domain import systems

from .conftest import SETTINGS
from .samples import merchant_fields, person_fields

MINIPROGRAM = {
    "name": "miniprogram",
    "grants": ["tickets.submit_ticket", "tickets.get_ticket", "registry.get_merchant"],
    "kinds": ["merchant"],
    "districts": ["wholesale_city", "aodele"],
    "max_ttl": 600,
}


def _system(register, **overrides):
    return register(use_cases.register_system, **{**MINIPROGRAM, **overrides})


def _merchant(register, district="wholesale_city", owner=True, **fields):
    owner_id = register(use_cases.register_person, **person_fields(name="张店主"))["person_id"] if owner else None
    return register(use_cases.register_merchant, **merchant_fields(district_id=district, owner_id=owner_id, **fields))


def _exchange(register, credential, **whom):
    return register(use_cases.exchange_token, caller=None, credential=credential, **whom)


def test_a_registered_system_gets_its_credential_once_and_only_its_digest_is_kept(register):
    system = _system(register)
    credential = system["credential"]
    assert credential.startswith(systems.CREDENTIAL_PREFIX) and len(credential) > 50
    assert system["grants"] == sorted(MINIPROGRAM["grants"]) and system["kinds"] == ["merchant"]
    assert system["registered_by"] == "staff:admin-1" and system["revoked_at"] is None
    stored = register.db("SELECT credential_digest FROM internal_systems")[0]["credential_digest"]
    assert bytes(stored) == systems.digest(credential) and credential.encode() not in bytes(stored)
    listed = register(queries.list_systems)
    assert [s["system_id"] for s in listed] == [system["system_id"]] and "credential" not in listed[0]
    assert "credential_digest" not in listed[0]
    assert [h["action"] for h in register.history(system["system_id"])] == ["registered"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"name": "Mini Program"}, "name"),
        ({"name": "tickets"}, "name"),  # would pass for a service in every history
        ({"grants": ["tickets"]}, "grants"),
        ({"grants": ["billing.pay"]}, "grants"),
        ({"grants": ["registry.register_system"]}, "grants"),
        ({"max_ttl": 86_400}, "max_ttl"),
        ({"kinds": ["system"]}, "kinds"),
    ],
)
def test_a_registration_outside_the_rules_is_refused(register, overrides, field):
    with pytest.raises(ValidationError) as refused:
        _system(register, **overrides)
    assert field in refused.value.fields
    assert register.count("internal_systems") == 0


def test_a_standing_name_is_taken_until_its_system_is_revoked(register):
    first = _system(register)
    with pytest.raises(Conflict, match="registered already"):
        _system(register)
    register(use_cases.revoke_system, system_id=first["system_id"], reason="replaced")
    second = _system(register)
    assert second["system_id"] != first["system_id"]


def test_a_merchant_token_is_the_owners_for_its_shop_within_the_limits(register):
    system = _system(register)
    shop = _merchant(register)
    answer = _exchange(register, system["credential"], merchant_id=shop["merchant_id"])
    assert answer["kind"] == "merchant" and answer["subject"] == shop["owner_id"]
    assert answer["merchant_id"] == shop["merchant_id"] and answer["roles"] == ["merchant"]
    assert answer["districts"] == ["wholesale_city"] and answer["expires_in"] == 600
    assert answer["actor"] == "miniprogram" and answer["delegation"] == system["system_id"]
    identity = SETTINGS.tokens.verify(answer["token"])
    assert identity.actor == "miniprogram" and identity.delegation == system["system_id"]
    assert identity.grants == frozenset(MINIPROGRAM["grants"])
    assert identity.on_behalf_of == f"merchant:{shop['owner_id']}" and identity.acted_by == "system:miniprogram"


def test_a_shorter_lifetime_may_be_asked_never_a_longer_one(register):
    system = _system(register)
    shop = _merchant(register)
    assert _exchange(register, system["credential"], merchant_id=shop["merchant_id"], ttl=60)["expires_in"] == 60
    with pytest.raises(ValidationError) as refused:
        _exchange(register, system["credential"], merchant_id=shop["merchant_id"], ttl=601)
    assert "ttl" in refused.value.fields


def test_a_merchant_outside_the_systems_districts_or_kinds_is_forbidden(register):
    system = _system(register)
    outlets = _merchant(register, district="outlets")
    with pytest.raises(Forbidden, match="district outlets"):
        _exchange(register, system["credential"], merchant_id=outlets["merchant_id"])
    person = register(use_cases.register_person, **person_fields(roles=["staff"]))
    with pytest.raises(Forbidden, match="may not act for staffs"):
        _exchange(register, system["credential"], person_id=person["person_id"])


def test_a_merchant_not_active_or_without_owner_gets_no_token(register):
    system = _system(register)
    shop = _merchant(register)
    register(use_cases.set_merchant_status, merchant_id=shop["merchant_id"], status="suspended", reason="整改")
    with pytest.raises(Conflict, match="suspended"):
        _exchange(register, system["credential"], merchant_id=shop["merchant_id"])
    ownerless = _merchant(register, owner=False)
    with pytest.raises(Conflict, match="no owner"):
        _exchange(register, system["credential"], merchant_id=ownerless["merchant_id"])
    with pytest.raises(NotFound):
        _exchange(register, system["credential"], merchant_id="00000000-0000-4000-8000-000000000000")


def test_a_staff_token_carries_the_daily_roles_in_the_persons_district_never_administration(register):
    system = _system(register, name="duty-roster", kinds=["staff"], grants=["tickets.*"], districts=["*"])
    person = register(use_cases.register_person, **person_fields(roles=["staff", "volunteer"], district_id="aodele"))
    answer = _exchange(register, system["credential"], person_id=person["person_id"])
    assert answer["kind"] == "staff" and answer["subject"] == person["person_id"]
    assert answer["roles"] == ["staff", "volunteer"] and answer["districts"] == ["aodele"]
    assert answer["grants"] == ["tickets.*"] and answer["merchant_id"] is None
    # A person no longer staff is not acted for.
    register(use_cases.update_person, person_id=person["person_id"], roles=[])
    with pytest.raises(Conflict, match="no staff role"):
        _exchange(register, system["credential"], person_id=person["person_id"])


def test_a_staff_member_outside_the_systems_districts_is_forbidden(register):
    system = _system(register, name="duty-roster", kinds=["staff", "merchant"], districts=["outlets"])
    person = register(use_cases.register_person, **person_fields(roles=["staff"], district_id="aodele"))
    with pytest.raises(Forbidden, match="district aodele"):
        _exchange(register, system["credential"], person_id=person["person_id"])


def test_an_unknown_rotated_or_revoked_credential_exchanges_nothing(register):
    system = _system(register)
    shop = _merchant(register)
    with pytest.raises(Unauthenticated):
        _exchange(register, systems.new_credential(), merchant_id=shop["merchant_id"])

    rotated = register(use_cases.rotate_system_credential, system_id=system["system_id"])
    assert rotated["credential"] != system["credential"] and rotated["system_id"] == system["system_id"]
    with pytest.raises(Unauthenticated):
        _exchange(register, system["credential"], merchant_id=shop["merchant_id"])
    assert (
        _exchange(register, rotated["credential"], merchant_id=shop["merchant_id"])["delegation"]
        == (system["system_id"])
    )

    revoked = register(use_cases.revoke_system, system_id=system["system_id"], reason="小程序下线")
    assert revoked["revoked_at"] == register.now and revoked["revoked_by"] == "staff:admin-1"
    with pytest.raises(Unauthenticated):
        _exchange(register, rotated["credential"], merchant_id=shop["merchant_id"])
    with pytest.raises(Conflict):
        register(use_cases.revoke_system, system_id=system["system_id"], reason="again")
    with pytest.raises(Conflict):
        register(use_cases.rotate_system_credential, system_id=system["system_id"])
    assert register(queries.list_systems) == []
    assert [s["system_id"] for s in register(queries.list_systems, include_revoked=True)] == [system["system_id"]]
    actions = [h["action"] for h in register.history(system["system_id"])]
    assert actions == ["registered", "credential_rotated", "revoked"]


def test_a_revocation_is_announced_and_recorded_for_the_registrys_own_calls(register):
    system = _system(register)
    register(use_cases.revoke_system, system_id=system["system_id"], reason="凭据泄露")
    assert register.events("system_access_revoked") == [
        (
            "system_access_revoked",
            {
                "system_id": system["system_id"],
                "name": "miniprogram",
                "reason": "凭据泄露",
                "revoked_at": register.now.isoformat(),
            },
        )
    ]
    rows = register.db("SELECT delegation_id, revoked_at FROM revoked_delegations")
    assert rows == [{"delegation_id": system["system_id"], "revoked_at": register.now}]
