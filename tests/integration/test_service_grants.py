"""Least privilege between services, over the real broker on a vhost with no permissions (guest):
a service's key signs its own identity only, and the receiver checks that identity's method
grants (its row of grants.RPC_CALLS); the people key and a service's key rotate without a call refused."""

import uuid
from datetime import UTC, datetime

import eventlet
import pytest

from alliance_platform import keys
from alliance_platform.config import load_config, service_class
from alliance_platform.errors import AllianceError, Forbidden, Unauthenticated
from alliance_platform.grants import RPC_CALLS, SERVICES
from alliance_platform.identity import TokenService
from tests.support.helpers import wait_until

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def own_token(service):
    """The token ``service`` signs for its own calls (ServiceRpc's), with its own key."""
    return TokenService.for_service(load_config(service)).issue(service, "system", roles=["system"], districts=["*"])


def outcome(client, token, target, method, **kwargs):
    """ "ok", or the name of the typed error the call got."""
    with client(token) as alliance:
        try:
            getattr(getattr(alliance, target), method)(**kwargs)
        except AllianceError as exc:
            return type(exc).__name__
    return "ok"


@pytest.fixture
def services(service_harness, container_factory, service_config):
    """The registry and notifications, the two services other services call."""
    registry = service_harness("registry", START)
    notifications = container_factory(service_class("notifications"), service_config("notifications"))
    notifications.start()
    return registry


# (caller, "target.method", its arguments): one call inside and one outside each service's row.
INSIDE = [
    ("events", "registry.get_merchant", {"merchant_id": str(uuid.uuid4())}),
    ("events", "registry.list_organisations", {"type": "party_branch"}),
    ("events", "registry.resolve_audience", {"person_ids": []}),
    ("notifications", "registry.resolve_audience", {"person_ids": []}),
    ("registry", "notifications.send", {}),
]
OUTSIDE = [
    ("events", "registry.get_person", {"person_id": str(uuid.uuid4())}),
    ("events", "notifications.send", {}),
    ("notifications", "registry.get_merchant", {"merchant_id": str(uuid.uuid4())}),
    ("tickets", "registry.get_merchant", {"merchant_id": str(uuid.uuid4())}),
    ("tickets", "notifications.send", {}),
    ("registry", "registry.get_person", {"person_id": str(uuid.uuid4())}),
]


def test_every_service_is_tested_inside_and_outside_its_row():
    assert {caller for caller, _, _ in OUTSIDE} == set(SERVICES)
    assert {(caller, call) for caller, call, _ in INSIDE} == {(s, c) for s in SERVICES for c in RPC_CALLS[s]}


def test_a_service_calling_outside_its_grants_is_forbidden_inside_them_it_passes(services, client):
    for caller, call, kwargs in OUTSIDE:
        assert outcome(client, own_token(caller), *call.split("."), **kwargs) == "Forbidden", (caller, call)
    for caller, call, kwargs in INSIDE:
        # Past the grant: the method's own answer (found or not, valid input or not).
        assert outcome(client, own_token(caller), *call.split("."), **kwargs) not in (
            "Forbidden",
            "Unauthenticated",
        ), (caller, call)


def test_a_token_signed_by_a_services_key_claiming_admin_is_unauthenticated(services, client):
    import jwt

    key = keys.load_signing_key("dev", keys.service_signer("notifications"), keys.KeySet.load("dev"))
    now = int(datetime.now(UTC).timestamp())
    admin = jwt.encode(
        {"iss": "alliance", "sub": "admin-1", "kind": "staff", "roles": ["admin"], "districts": ["*"]}
        | {"iat": now, "exp": now + 600},
        key.key,
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    assert outcome(client, admin, "registry", "get_person", person_id=str(uuid.uuid4()), reveal_id_card=True) == (
        "Unauthenticated"
    )
    # The same call with the people issuer's admin token gets past identity (nobody by that id).
    assert outcome(client, None, "registry", "get_person", person_id=str(uuid.uuid4())) not in (
        "Unauthenticated",
        "Forbidden",
    )


def test_a_key_rotated_while_calls_are_in_flight_refuses_no_call(service_harness, container_factory, service_config):
    """The people issuer's key rotates while callers keep calling: the new public key joins the
    set (registry instances replaced one by one), the issuer switches to the new key, the old key
    leaves the set once no token signed with it is in use. Every call answered, none refused."""
    old = keys.load_signing_key("dev", keys.PEOPLE, keys.KeySet.load("dev"))
    new = keys.generate(keys.PEOPLE)
    dev = list(keys.KeySet.load("dev"))
    with_both = keys.KeySet([*dev, new.public()]).jwks()
    only_new = keys.KeySet([*(k for k in dev if k.signer != keys.PEOPLE), new.public()]).jwks()

    first = service_harness("registry", START)
    config = first.container.config
    issuer = {"now": TokenService(keys.KeySet.load("dev"), old)}
    results, stop = [], eventlet.event.Event()

    def caller(n):
        from alliance_platform.rpc import AllianceClient

        while not stop.ready():
            token = issuer["now"].issue(f"staff-{n}", "staff", roles=["admin"], districts=["*"], ttl=600)
            with AllianceClient(config["AMQP_URI"], token, timeout=15) as alliance:
                for _ in range(5):  # a token is used for several calls, some while the keys change
                    try:
                        alliance.registry.list_districts()
                        results.append("ok")
                    except Exception as exc:  # noqa: BLE001 - every outcome is counted
                        results.append(type(exc).__name__)

    def replace(container, key_set, people_key):
        # The registry is the people issuer too: it holds the key it signs people's tokens with.
        started = container_factory(
            service_class("registry"), {**config, "TOKEN_PUBLIC_KEYS": key_set, "PEOPLE_SIGNING_KEY": people_key}
        )
        started.start()
        before = len(results)
        wait_until(lambda: len(results) > before + 20, timeout=30, message="calls answered")
        container.stop()  # graceful: its calls in flight are answered
        return started

    callers = [eventlet.spawn(caller, n) for n in range(4)]
    wait_until(lambda: len(results) > 20, timeout=30, message="calls before the rotation")
    second = replace(first.container, with_both, "dev")  # 1. the new public key everywhere
    issuer["now"] = TokenService(keys.KeySet.from_jwks(with_both), new)  # 2. the issuer signs with it
    count = len(results)
    wait_until(lambda: len(results) > count + 40, timeout=30, message="calls with the new key")
    # 3. no token of the old key in use any more: its public key leaves the set.
    stop.send()
    for thread in callers:
        thread.wait()
    stop = eventlet.event.Event()
    callers = [eventlet.spawn(caller, n) for n in range(4)]
    replace(second, only_new, new.private_pem())
    stop.send()
    for thread in callers:
        thread.wait()
    assert len(results) > 100
    assert set(results) == {"ok"}, {r for r in results if r != "ok"}
    with pytest.raises(Unauthenticated):
        TokenService(keys.KeySet.from_jwks(only_new)).verify(
            TokenService(keys.KeySet.load("dev"), old).issue("s", "staff")
        )
    assert Forbidden  # (imported for readers: the refusals this file is about)


def test_a_service_key_rotated_while_it_calls_refuses_no_call(service_harness, container_factory, service_config):
    """A service's own key rotates as the people key does (deploy/README.md, "Identity keys"):
    events keeps calling registry.get_merchant (inside its grants) with tokens signed by its key
    while the registry learns events' new public key, events switches to its new private key and
    the old public key leaves the set. Every call is answered (NotFound: no such merchant), none
    refused; a token of the old key is Unauthenticated at the end."""
    signer = keys.service_signer("events")
    dev = list(keys.KeySet.load("dev"))
    old = keys.load_signing_key("dev", signer, keys.KeySet.load("dev"))
    new = keys.generate(signer)
    with_both = keys.KeySet([*dev, new.public()]).jwks()
    only_new = keys.KeySet([*(k for k in dev if k.signer != signer), new.public()]).jwks()

    first = service_harness("registry", START)
    config = first.container.config
    events = {"now": TokenService(keys.KeySet.load("dev"), old)}
    results, stop = [], eventlet.event.Event()

    def caller():
        from alliance_platform.rpc import AllianceClient

        while not stop.ready():
            # What events' ServiceRpc does: its own identity, signed with the key it holds now.
            token = events["now"].issue("events", "system", roles=["system"], districts=["*"], ttl=600)
            with AllianceClient(config["AMQP_URI"], token, timeout=15) as alliance:
                for _ in range(5):  # a token serves several calls, some while the keys change
                    try:
                        alliance.registry.get_merchant(merchant_id=str(uuid.uuid4()))
                        results.append("ok")
                    except Exception as exc:  # noqa: BLE001 - every outcome is counted
                        results.append(type(exc).__name__)

    def replace(container, key_set):
        started = container_factory(service_class("registry"), {**config, "TOKEN_PUBLIC_KEYS": key_set})
        started.start()
        before = len(results)
        wait_until(lambda: len(results) > before + 20, timeout=30, message="calls answered")
        container.stop()  # graceful: its calls in flight are answered
        return started

    def run_callers():
        return [eventlet.spawn(caller) for _ in range(4)]

    def stop_callers(threads):
        stop.send()
        for thread in threads:
            thread.wait()

    callers = run_callers()
    wait_until(lambda: len(results) > 20, timeout=30, message="calls before the rotation")
    second = replace(first.container, with_both)  # 1. events' new public key everywhere
    events["now"] = TokenService(keys.KeySet.from_jwks(with_both), new)  # 2. events signs with it
    count = len(results)
    wait_until(lambda: len(results) > count + 40, timeout=30, message="calls with the new key")
    # 3. no token of the old key in use any more: its public key leaves the set.
    stop_callers(callers)
    stop = eventlet.event.Event()
    callers = run_callers()
    replace(second, only_new)
    stop_callers(callers)
    assert len(results) > 100
    assert set(results) == {"NotFound"}, {r for r in results if r != "NotFound"}
    with pytest.raises(Unauthenticated):
        TokenService(keys.KeySet.from_jwks(only_new)).verify(
            TokenService(keys.KeySet.load("dev"), old).issue("events", "system", roles=["system"], districts=["*"])
        )
