"""deploy/compose.yaml validated against the Compose Specification's JSON schema (vendored in
tests/deploy/schemas, checked with the `jsonschema` library), then held to what the platform
needs: each service reaches its own database and broker user through secrets, reports ready on
its own health endpoint, starts after the migrations and has time to stop gracefully; the gateway
is published on its port with nothing but its broker user (no signing secret, no database)."""

import hashlib
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

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


def test_the_gateway_is_published_with_only_its_broker_user(compose):
    """It holds no power of its own: the caller's token goes on to the service, which verifies it.
    So no signing secret (it could mint tokens with one) and no database password."""
    gateway = compose["services"]["gateway"]
    env = _env(gateway)
    assert gateway["secrets"] == ["broker_gateway_password"]
    assert not [variable for variable in env if "SIGNING" in variable or "DATABASE" in variable]
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


def test_make_secrets_creates_every_secret_compose_reads_and_keeps_them(compose, tmp_path):
    target = tmp_path / "secrets"
    subprocess.run([str(DEPLOY / "make-secrets.sh"), str(target)], check=True, capture_output=True)
    expected = {Path(secret["file"]).name for secret in compose["secrets"].values()}
    assert {path.name for path in target.iterdir()} == expected
    values = {path.name: path.read_text() for path in target.iterdir()}
    id_card_keys = {"registry_id_card_key", "registry_id_card_keys_previous"}
    assert all(
        re.fullmatch(r"[0-9a-f]{64}", value)
        for name, value in values.items()
        if name not in {"signing_secrets_previous", *id_card_keys}
    )
    # The ID-card key is key 2 of its own; key 1, the development key, is still held to re-seal from.
    assert re.fullmatch(r"2:[A-Za-z0-9+/]{43}=", values["registry_id_card_key"])
    assert values["registry_id_card_keys_previous"] == "1:ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k"
    assert len(set(values.values())) == len(values)
    subprocess.run([str(DEPLOY / "make-secrets.sh"), str(target)], check=True, capture_output=True)
    assert {path.name: path.read_text() for path in target.iterdir()} == values
    # Each broker user of the definitions has its password secret.
    users = {user["name"] for user in load_definitions_module().generate()["users"]}
    assert {f"broker_{user}_password" for user in users} <= expected


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
