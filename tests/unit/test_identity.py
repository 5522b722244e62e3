import time

import jwt
import pytest

from alliance_platform import keys
from alliance_platform.errors import Forbidden, Unauthenticated
from alliance_platform.grants import RPC_CALLS
from alliance_platform.identity import TokenService

PEOPLE = keys.generate(keys.PEOPLE, kid="people-1")
NOTIFICATIONS = keys.generate(keys.service_signer("notifications"), kid="notifications-1")
EVENTS = keys.generate(keys.service_signer("events"), kid="events-1")
KEY_SET = keys.KeySet([PEOPLE.public(), NOTIFICATIONS.public(), EVENTS.public()])


def issuer(signing_key=PEOPLE, key_set=KEY_SET):
    return TokenService(key_set, signing_key)


def test_a_token_round_trips_its_identity():
    tokens = issuer()
    identity = tokens.verify(
        tokens.issue("p-7", "staff", roles=["staff", "volunteer"], districts=["aodele"], name="张三")
    )
    assert (identity.subject, identity.kind, identity.name) == ("p-7", "staff", "张三")
    assert identity.roles == {"staff", "volunteer"} and identity.districts == {"aodele"}
    assert identity.covers_district("aodele") and not identity.covers_district("outlets")
    assert jwt.get_unverified_header(tokens.issue("p", "staff")) == {"alg": "EdDSA", "kid": "people-1", "typ": "JWT"}


def test_expired_forged_and_malformed_tokens_are_unauthenticated():
    tokens = issuer()
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(tokens.issue("p", "staff", ttl=10, now=1_000_000))
    stranger = keys.generate(keys.PEOPLE, kid="people-1")  # a known key id, another key
    with pytest.raises(Unauthenticated, match="signature"):
        tokens.verify(issuer(stranger, keys.KeySet([stranger.public()])).issue("p", "staff", roles=["admin"]))
    unknown = keys.generate(keys.PEOPLE)
    with pytest.raises(Unauthenticated, match="no key of the key set"):
        tokens.verify(issuer(unknown, keys.KeySet([unknown.public()])).issue("p", "staff", roles=["admin"]))
    # The shared secret of old: an HS256 token is refused whatever it is signed with.
    hs256 = jwt.encode(
        {"iss": "alliance", "sub": "p", "kind": "staff", "roles": ["admin"]}, "x" * 40, headers={"kid": "people-1"}
    )
    with pytest.raises(Unauthenticated):
        tokens.verify(hs256)
    with pytest.raises(Unauthenticated):
        tokens.verify("eyJhbGciOiJIUzI1NiJ9.e30.abc")
    with pytest.raises(Unauthenticated, match="no identity"):
        tokens.verify(None)


def test_a_token_signed_by_a_services_key_claiming_admin_is_unauthenticated():
    """The notifications container's key signs only notifications' own identity."""
    own = issuer(NOTIFICATIONS).issue("notifications", "system", roles=["system"], districts=["*"])
    identity = issuer().verify(own)
    assert (identity.kind, identity.subject, identity.roles) == ("system", "notifications", {"system"})
    assert identity.grants == set(RPC_CALLS["notifications"])
    now = int(time.time())
    for claims in (
        {"sub": "notifications", "kind": "system", "roles": ["system", "admin"]},
        {"sub": "admin-1", "kind": "staff", "roles": ["admin"], "districts": ["*"]},
        {"sub": "events", "kind": "system", "roles": ["system"]},  # another service
        {"sub": "notifications", "kind": "system", "roles": ["system"], "grants": ["registry.*"]},
        {"sub": "m-1", "kind": "merchant", "roles": ["merchant"], "merchant_id": "m-1"},
        {"sub": "p-1", "kind": "staff", "roles": ["staff"], "act": {"sub": "notifications"}},
    ):
        forged = jwt.encode(
            {"iss": "alliance", "iat": now, "exp": now + 60, **claims},
            NOTIFICATIONS.key,
            algorithm="EdDSA",
            headers={"kid": NOTIFICATIONS.kid},
        )
        with pytest.raises(Unauthenticated, match="signed by notifications's key claims more"):
            issuer().verify(forged)
    # Its own TokenService will not even issue one.
    with pytest.raises(ValueError):
        issuer(NOTIFICATIONS).issue("admin-1", "staff", roles=["admin"])


def test_keys_of_a_signer_rotate_old_and_new_verifying_until_the_old_is_removed():
    new_people = keys.generate(keys.PEOPLE, kid="people-2")
    old_token = issuer().issue("p", "staff", roles=["staff"])
    both = keys.KeySet([*KEY_SET, new_people.public()])
    new_token = issuer(new_people, both).issue("p", "staff", roles=["staff"])
    verifier = TokenService(both)
    assert verifier.verify(old_token).subject == verifier.verify(new_token).subject == "p"
    after = TokenService(keys.KeySet([new_people.public(), NOTIFICATIONS.public()]))
    assert after.verify(new_token).subject == "p"
    with pytest.raises(Unauthenticated):
        after.verify(old_token)


def test_a_process_starts_only_with_a_key_the_key_set_gives_its_signer():
    with pytest.raises(keys.KeyConfigError, match="no public key in the key set"):
        keys.load_signing_key(keys.generate(keys.PEOPLE).private_pem(), keys.PEOPLE, KEY_SET)
    with pytest.raises(keys.KeyConfigError, match="is service:notifications's"):
        keys.load_signing_key(NOTIFICATIONS.private_pem(), keys.service_signer("events"), KEY_SET)
    with pytest.raises(keys.KeyConfigError, match="SIGNING_KEY_ID"):
        keys.load_signing_key(EVENTS.private_pem(), keys.service_signer("events"), KEY_SET, kid="events-0")
    loaded = keys.load_signing_key(EVENTS.private_pem(), keys.service_signer("events"), KEY_SET)
    assert loaded.kid == "events-1"
    # The development keys: one per signer, the default of every process, and only of those.
    dev = TokenService.for_service({"SERVICE_NAME": "tickets", "TOKEN_PUBLIC_KEYS": "dev", "SIGNING_KEY": "dev"})
    assert dev.signing_key.kid.startswith("dev-") and dev.signing_key.signer == "service:tickets"
    with pytest.raises(keys.KeyConfigError):
        TokenService.for_service({"SERVICE_NAME": "tickets", "TOKEN_PUBLIC_KEYS": KEY_SET.jwks(), "SIGNING_KEY": "dev"})
    verifier = TokenService.from_config({"TOKEN_PUBLIC_KEYS": KEY_SET.jwks()})
    with pytest.raises(RuntimeError, match="holds no signing key"):
        verifier.issue("p", "staff")


def test_the_key_set_round_trips_as_jwks_and_refuses_what_it_cannot_use(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(__import__("json").dumps(KEY_SET.jwks()))
    loaded = keys.KeySet.load(str(path))
    assert [(k.kid, k.signer) for k in loaded] == [(k.kid, k.signer) for k in KEY_SET]
    assert keys.KeySet.load(path.read_text()).jwks() == KEY_SET.jwks()
    assert all("d" not in jwk for jwk in KEY_SET.jwks()["keys"])
    for bad in ('{"keys": [{"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": "AA"}]}', "[]", "", "/no/such/file"):
        with pytest.raises(keys.KeyConfigError):
            keys.KeySet.load(bad)
    with pytest.raises(keys.KeyConfigError, match="twice"):
        keys.KeySet([PEOPLE.public(), PEOPLE.public()])


def test_unknown_kinds_and_roles_are_refused_when_issuing():
    tokens = issuer()
    with pytest.raises(ValueError):
        tokens.issue("p", "robot")
    with pytest.raises(ValueError):
        tokens.issue("p", "staff", roles=["emperor"])


def test_roles_and_districts_are_enforced():
    tokens = issuer()
    staff = tokens.verify(tokens.issue("p", "staff", roles=["staff"], districts=["aodele"]))
    staff.require_roles("staff", "admin")
    with pytest.raises(Forbidden):
        staff.require_roles("admin")
    with pytest.raises(Forbidden):
        staff.require_district("outlets")
    admin = tokens.verify(tokens.issue("a", "staff", roles=["admin"]))
    admin.require_district("outlets")


def test_a_delegated_token_names_both_the_acting_system_and_the_person():
    tokens = issuer()
    identity = tokens.verify(
        tokens.issue("m-9", "merchant", roles=["merchant"], merchant_id="m-9", actor="miniprogram", delegation="d-1")
    )
    assert identity.actor == "miniprogram" and identity.delegation == "d-1"
    assert identity.acted_by == "system:miniprogram" and identity.on_behalf_of == "merchant:m-9"
    own = tokens.verify(tokens.issue("p-1", "staff", roles=["staff"]))
    assert own.actor is None and own.on_behalf_of is None and own.acted_by == "staff:p-1"


def test_a_grants_claim_limits_the_methods_an_identity_may_call():
    tokens = issuer()
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


def test_a_services_identity_has_its_row_of_the_grants_table():
    events = issuer().verify(issuer(EVENTS).issue("events", "system", roles=["system"], districts=["*"]))
    events.require_grant("registry.get_merchant")
    with pytest.raises(Forbidden):
        events.require_grant("registry.get_person")
    with pytest.raises(Forbidden):
        events.require_grant("tickets.submit_ticket")
