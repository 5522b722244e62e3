import pytest

from alliance_platform.errors import Forbidden, Unauthenticated
from alliance_platform.identity import TokenService

SECRET = "a-test-signing-secret-of-at-least-32-chars"
OLD_SECRET = "the-previous-signing-secret-32-chars-long"


def test_a_token_round_trips_its_identity():
    tokens = TokenService(SECRET)
    identity = tokens.verify(
        tokens.issue("p-7", "staff", roles=["staff", "volunteer"], districts=["aodele"], name="张三")
    )
    assert (identity.subject, identity.kind, identity.name) == ("p-7", "staff", "张三")
    assert identity.roles == {"staff", "volunteer"} and identity.districts == {"aodele"}
    assert identity.covers_district("aodele") and not identity.covers_district("outlets")


def test_expired_forged_and_malformed_tokens_are_unauthenticated():
    tokens = TokenService(SECRET)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(tokens.issue("p", "staff", ttl=10, now=1_000_000))
    with pytest.raises(Unauthenticated, match="signature"):
        tokens.verify(TokenService("x" * 40).issue("p", "staff", roles=["admin"]))
    with pytest.raises(Unauthenticated):
        tokens.verify("eyJhbGciOiJIUzI1NiJ9.e30.abc")
    with pytest.raises(Unauthenticated, match="no identity"):
        tokens.verify(None)


def test_tokens_signed_with_a_previous_secret_stay_valid_during_rotation():
    old_token = TokenService(OLD_SECRET).issue("p", "staff", roles=["staff"])
    assert TokenService(SECRET, previous=[OLD_SECRET]).verify(old_token).subject == "p"
    with pytest.raises(Unauthenticated):
        TokenService(SECRET).verify(old_token)


def test_unknown_kinds_roles_and_short_secrets_are_refused_when_issuing():
    tokens = TokenService(SECRET)
    with pytest.raises(ValueError):
        tokens.issue("p", "robot")
    with pytest.raises(ValueError):
        tokens.issue("p", "staff", roles=["emperor"])
    with pytest.raises(ValueError):
        TokenService("short")


def test_roles_and_districts_are_enforced():
    tokens = TokenService(SECRET)
    staff = tokens.verify(tokens.issue("p", "staff", roles=["staff"], districts=["aodele"]))
    staff.require_roles("staff", "admin")
    with pytest.raises(Forbidden):
        staff.require_roles("admin")
    with pytest.raises(Forbidden):
        staff.require_district("outlets")
    admin = tokens.verify(tokens.issue("a", "staff", roles=["admin"]))
    admin.require_district("outlets")


def test_a_delegated_token_names_both_the_acting_system_and_the_person():
    tokens = TokenService(SECRET)
    identity = tokens.verify(
        tokens.issue("m-9", "merchant", roles=["merchant"], merchant_id="m-9", actor="miniprogram", delegation="d-1")
    )
    assert identity.actor == "miniprogram" and identity.delegation == "d-1"
    assert identity.acted_by == "system:miniprogram" and identity.on_behalf_of == "merchant:m-9"
    own = tokens.verify(tokens.issue("p-1", "staff", roles=["staff"]))
    assert own.actor is None and own.on_behalf_of is None and own.acted_by == "staff:p-1"


def test_a_grants_claim_limits_the_methods_an_identity_may_call():
    tokens = TokenService(SECRET)
    limited = tokens.verify(
        tokens.issue("crm", "system", roles=["system"], grants=["tickets.*", "registry.get_person"])
    )
    assert limited.grants == {"tickets.*", "registry.get_person"}
    limited.require_grant("tickets.submit_ticket")
    limited.require_grant("registry.get_person")
    with pytest.raises(Forbidden, match="not granted registry.get_merchant"):
        limited.require_grant("registry.get_merchant")
    nothing = tokens.verify(tokens.issue("idle", "system", roles=["system"], grants=[]))
    with pytest.raises(Forbidden):
        nothing.require_grant("tickets.list_tickets")
    person = tokens.verify(tokens.issue("p-1", "staff", roles=["staff"]))
    assert person.grants is None
    person.require_grant("registry.get_merchant")
