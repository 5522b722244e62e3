"""deploy/compose.yaml validated against the Compose Specification's JSON schema (vendored in
tests/deploy/schemas, checked with the `jsonschema` library), then held to what the platform
needs: each service reaches its own database and broker user through secrets, reports ready on
its own health endpoint, starts after the migrations and has time to stop gracefully; each signs
with its own identity key only, the people issuer's key is the registry's and the operator's; the
gateway is published on its port with nothing but its broker user (no key, no database); and
make-secrets.sh writes every secret and key compose reads, with openssl or with `alliance keys`."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from alliance_platform import keys
from alliance_platform.config import installed_services, load_config
from tests.deploy.conftest import DEPLOY, database_services, has_database, load_definitions_module

SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _env(service):
    environment = service.get("environment", {})
    return dict(item.split("=", 1) for item in environment) if isinstance(environment, list) else environment


def test_the_vendored_schema_is_the_published_one():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_is_valid_against_the_compose_spec(compose):
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_catches_a_broken_compose_file(compose):
    """The validation is not vacuous: a typo in a condition or a key is an error."""
    schema = json.loads(SCHEMA.read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["registry"]["depends_on"]["migrate"]["condition"] = "service_completed"
    broken["services"]["tickets"]["restart_policy"] = "always"
    messages = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(broken)]
    assert len(messages) >= 2, messages


@pytest.mark.parametrize("name", installed_services())
def test_each_service_runs_with_its_own_credentials_and_health_check(compose, name):
    service = compose["services"][name]
    env = _env(service)
    assert service["command"] == [name]
    assert service["restart"] == "unless-stopped"
    assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert env["AMQP_URI"] == f"amqp://{name}@rabbitmq:5672/{load_definitions_module().VHOST}"
    assert env["AMQP_URI_PASSWORD_FILE"] == f"/run/secrets/broker_{name}_password"
    if has_database(name):
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert env[f"{name.upper()}_DATABASE_URL"] == f"postgresql://{name}@postgres:5432/alliance_{name}"
    else:  # the gateway: nothing to migrate, no database to reach
        assert "migrate" not in service["depends_on"] and "postgres" not in service["depends_on"]
        assert not [variable for variable in env if "DATABASE" in variable]
    port = str(load_config(name)["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[1]
    assert env[f"{name.upper()}_HTTP_ADDRESS"] == f"0.0.0.0:{port}"
    assert f"http://127.0.0.1:{port}/health/ready" in " ".join(service["healthcheck"]["test"])
    # SIGTERM, then time to finish the work in flight (proven to take under 25 s), then SIGKILL.
    assert service["stop_grace_period"] == "30s"
    assert service["read_only"] is True and service["cap_drop"] == ["ALL"]


@pytest.mark.parametrize("name", [name for name in installed_services() if has_database(name)])
def test_each_service_signs_with_its_own_key_and_verifies_with_the_public_key_set(compose, name):
    """No container holds a key that signs for anyone but itself: its own signing_key_<service>,
    the public key set; the people issuer's key and the sign-in codes' secret only in the registry."""
    service = compose["services"][name]
    env = _env(service)
    assert env["ALLIANCE_TOKEN_PUBLIC_KEYS_FILE"] == "/run/secrets/token_public_keys"
    assert env["ALLIANCE_SIGNING_KEY_FILE"] == f"/run/secrets/signing_key_{name}"
    identity = {secret for secret in service["secrets"] if secret.startswith(("signing_", "token_", "sign_in_"))}
    registry_only = {"signing_key_people", "sign_in_code_secret"} if name == "registry" else set()
    assert identity == {"token_public_keys", f"signing_key_{name}", *registry_only}
    if name == "registry":
        assert env["ALLIANCE_PEOPLE_SIGNING_KEY_FILE"] == "/run/secrets/signing_key_people"
        assert env["REGISTRY_SIGN_IN_CODE_SECRET_FILE"] == "/run/secrets/sign_in_code_secret"
    else:
        assert "ALLIANCE_PEOPLE_SIGNING_KEY_FILE" not in env and "REGISTRY_SIGN_IN_CODE_SECRET_FILE" not in env


def test_each_private_key_is_mounted_where_its_signer_runs_and_nowhere_else(compose):
    holders = {}
    for name, service in compose["services"].items():
        for secret in service.get("secrets", []):
            if secret.startswith("signing_key_"):
                holders.setdefault(secret, set()).add(name)
    signers = {f"signing_key_{name}": {name} for name in installed_services() if has_database(name)}
    # The people issuer: the registry's sign-in, and the operator's CLI (alliance token, its own calls).
    assert holders == {**signers, "signing_key_people": {"registry", "cli"}}
    cli = compose["services"]["cli"]
    assert set(cli["secrets"]) == {"token_public_keys", "signing_key_people", "broker_operator_password"}
    assert _env(cli)["ALLIANCE_PEOPLE_SIGNING_KEY_FILE"] == "/run/secrets/signing_key_people"


def test_the_gateway_is_published_with_only_its_broker_user(compose):
    """It holds no power of its own: the caller's token goes on to the service, which verifies it.
    So no private key (it could mint tokens with one), no key set (it verifies nothing: its
    ClaimedCallContext loads none) and no database password."""
    gateway = compose["services"]["gateway"]
    env = _env(gateway)
    assert gateway["secrets"] == ["broker_gateway_password"]
    assert not [variable for variable in env if "KEY" in variable or "SIGN" in variable or "DATABASE" in variable]
    port = str(load_config("gateway")["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[1]
    (published,) = gateway["ports"]
    assert published == f"${{ALLIANCE_GATEWAY_PUBLISH:-127.0.0.1:{port}}}:{port}"
    # The other services publish nothing (their ports are health and metrics, scaled freely).
    for name in installed_services():
        if name != "gateway":
            assert "ports" not in compose["services"][name], name


def test_every_secret_file_variable_points_at_a_secret_the_container_gets(compose):
    for name, service in compose["services"].items():
        mounted = set(service.get("secrets", []))
        for variable, value in _env(service).items():
            if variable.endswith("_FILE") and value.startswith("/run/secrets/"):
                assert value.removeprefix("/run/secrets/") in mounted, (name, variable)
            assert "guest" not in str(value), (name, variable)


SIGNERS = ["people", *(name for name in installed_services() if has_database(name))]


def _make_secrets(*args, env=None):
    result = subprocess.run(
        [str(DEPLOY / "make-secrets.sh"), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _files(target):
    return {path.name: path.read_text() for path in target.iterdir() if path.is_file()}


def _signer(name):
    return keys.PEOPLE if name == "people" else keys.service_signer(name)


def _assert_deployment_keys(target):
    """token_public_keys is a key set with one key per signer, none of them a development key, and
    each signing_key_<signer> is that signer's (as a service checks at start, in production)."""
    key_set = keys.KeySet.load(str(target / "token_public_keys"))
    assert sorted(key.signer for key in key_set) == sorted(_signer(name) for name in SIGNERS)
    development = {key.public().jwk()["x"] for key in keys.dev_keys()}
    assert not [key.kid for key in key_set if key.jwk()["x"] in development]
    held = {}
    for name in SIGNERS:
        held[name] = keys.load_signing_key(str(target / f"signing_key_{name}"), _signer(name), key_set)
        assert held[name].kid.startswith(_signer(name).replace(":", "-") + "-")
    return key_set, held


def test_make_secrets_creates_every_secret_compose_reads_and_keeps_them(compose, tmp_path, monkeypatch):
    target = tmp_path / "secrets"
    _make_secrets(target)
    expected = {Path(secret["file"]).name for secret in compose["secrets"].values()}
    assert set(_files(target)) == expected
    values = _files(target)
    id_card_keys = {"registry_id_card_key", "registry_id_card_keys_previous"}
    identity = {"token_public_keys", *(f"signing_key_{name}" for name in SIGNERS)}
    assert all(
        re.fullmatch(r"[0-9a-f]{64}", value) for name, value in values.items() if name not in {*id_card_keys, *identity}
    )
    # The ID-card key is key 2 of its own; key 1, the development key, is still held to re-seal from.
    assert re.fullmatch(r"2:[A-Za-z0-9+/]{43}=", values["registry_id_card_key"])
    assert values["registry_id_card_keys_previous"] == "1:ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k"
    assert len(set(values.values())) == len(values)
    # The keys are the deployment's own, usable where development keys are refused.
    monkeypatch.setenv(keys.ENVIRONMENT, keys.PRODUCTION)
    _assert_deployment_keys(target)
    _make_secrets(target)
    assert _files(target) == values
    # Each broker user of the definitions has its password secret.
    users = {user["name"] for user in load_definitions_module().generate()["users"]}
    assert {f"broker_{user}_password" for user in users} <= expected


def test_make_secrets_adds_a_missing_key_to_the_public_key_set(tmp_path):
    """A service added later (or a key file lost): its new key is made and its public half joins
    the set; every other key stays as it was."""
    target = tmp_path / "secrets"
    _make_secrets(target)
    before = _files(target)
    (target / "signing_key_events").unlink()
    _make_secrets(target)
    after = _files(target)
    assert after["signing_key_events"] != before["signing_key_events"]
    assert {
        name: value for name, value in after.items() if name not in {"signing_key_events", "token_public_keys"}
    } == {name: value for name, value in before.items() if name not in {"signing_key_events", "token_public_keys"}}
    key_set = keys.KeySet.load(str(target / "token_public_keys"))
    assert len(key_set.of("service:events")) == 2  # the lost key's public half stays until removed from public/
    keys.load_signing_key(str(target / "signing_key_events"), "service:events", key_set)


def test_make_secrets_falls_back_on_alliance_keys_where_openssl_has_no_ed25519(tmp_path):
    """On a machine whose openssl cannot make Ed25519 keys (LibreSSL), `alliance keys generate`
    (the ops image, a checkout's virtualenv) makes them: the same files, the same kind of key ids."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "openssl").write_text("#!/bin/sh\necho 'genpkey: unknown algorithm ed25519' >&2\nexit 1\n")
    (fake / "openssl").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{Path(sys.executable).parent}:{os.environ['PATH']}"}
    target = tmp_path / "secrets"
    _make_secrets(target, env=env)
    _assert_deployment_keys(target)


def test_make_secrets_new_key_starts_a_rotation_without_touching_the_key_in_use(tmp_path):
    """--new-key SIGNER: the new private key waits in next/, its public key is in the set at once
    (deploy/README.md, "Identity keys"); the set verifies both the old and the new key's tokens."""
    target = tmp_path / "secrets"
    _make_secrets(target)
    before = _files(target)
    _make_secrets("--new-key", "tickets", target)
    after = _files(target)
    assert after["signing_key_tickets"] == before["signing_key_tickets"]
    key_set = keys.KeySet.load(str(target / "token_public_keys"))
    old = keys.load_signing_key(str(target / "signing_key_tickets"), "service:tickets", key_set)
    new = keys.load_signing_key(str(target / "next" / "signing_key_tickets"), "service:tickets", key_set)
    assert old.kid != new.kid and {key.kid for key in key_set.of("service:tickets")} == {old.kid, new.kid}
    # A second rotation of the same signer before the first is finished is refused.
    again = subprocess.run(
        [str(DEPLOY / "make-secrets.sh"), "--new-key", "tickets", str(target)], capture_output=True, text=True
    )
    assert again.returncode == 2 and "under way" in again.stderr
    # Finishing it: the new private key in place of the old, later the old public key removed from
    # public/ and the set rebuilt without it.
    (target / "next" / "signing_key_tickets").replace(target / "signing_key_tickets")
    (target / "public" / f"{old.kid}.jwk.json").unlink()
    _make_secrets(target)
    key_set = keys.KeySet.load(str(target / "token_public_keys"))
    assert [key.kid for key in key_set.of("service:tickets")] == [new.kid]
    assert keys.load_signing_key(str(target / "signing_key_tickets"), "service:tickets", key_set).kid == new.kid
    bogus = subprocess.run(
        [str(DEPLOY / "make-secrets.sh"), "--new-key", "gateway", str(target)], capture_output=True, text=True
    )
    assert bogus.returncode == 2 and "--new-key takes one of" in bogus.stderr


def test_the_migrations_run_once_as_each_services_role_before_the_services(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    env = _env(migrate)
    for name in database_services():
        assert env[f"{name.upper()}_DATABASE_URL"] == f"postgresql://{name}@postgres:5432/alliance_{name}"
        assert f"postgres_{name}_password" in migrate["secrets"]
    assert {variable for variable in env if variable.endswith("_DATABASE_URL")} == {
        f"{name.upper()}_DATABASE_URL" for name in database_services()
    }
    assert {secret for secret in compose["secrets"] if secret.startswith("postgres_")} == {
        "postgres_password",
        *(f"postgres_{name}_password" for name in database_services()),
    }


def test_the_broker_loads_the_rendered_definitions_with_the_alliance_config(compose):
    broker = compose["services"]["rabbitmq"]
    assert broker["depends_on"]["broker-definitions"]["condition"] == "service_completed_successfully"
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in broker["volumes"]}
    # Loaded after the image's conf.d/10-defaults.conf, which would let guest in from anywhere.
    assert mounts["/etc/rabbitmq/conf.d/90-alliance.conf"] == "./rabbitmq/rabbitmq.conf"
    assert mounts["/etc/rabbitmq/definitions"] == "broker-definitions"
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    assert "load_definitions = /etc/rabbitmq/definitions/definitions.json" in conf
    renderer = compose["services"]["broker-definitions"]
    assert renderer["command"][-1] == "/definitions/definitions.json"
    users = {user["name"] for user in load_definitions_module().generate()["users"]}
    assert set(renderer["secrets"]) == {f"broker_{user}_password" for user in users}
