"""deploy/entrypoint.sh run as a plain process, the way the image runs it: each argument starts
what it should, secrets given as files reach the platform, and anything else is a usage error."""

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from alliance_platform import keys
from alliance_platform.config import installed_services, service_package
from alliance_platform.identity import TokenService
from alliance_platform.migrate import migration_files
from alliance_platform.rpc import AllianceClient
from tests.conftest import RUN_PREFIX, database_url
from tests.deploy.conftest import DEPLOY, database_services, has_database
from tests.support.helpers import get_json, query, wait_until
from tests.support.servers import free_ports

ENTRYPOINT = str(DEPLOY / "entrypoint.sh")
# The keys of a deployment: a people issuer and the registry's own, published in a key set of
# their own (no development key in it).
PEOPLE_KEY = keys.generate(keys.PEOPLE)
SERVICE_KEYS = {
    name: keys.generate(keys.service_signer(name)) for name in ("registry", "tickets", "events", "notifications")
}
KEY_SET = keys.KeySet([PEOPLE_KEY.public(), *(key.public() for key in SERVICE_KEYS.values())])
# Characters that must be percent-encoded in a URL: a password pasted in raw would break it.
AWKWARD_PASSWORD = "p@ss:w/rd%#?"


def _without_password(url):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{parts.hostname}:{parts.port}")), parts.password


@pytest.fixture
def secrets_env(tmp_path, rabbit_config):
    """The environment of a container: the image's PATH and ALLIANCE_ENV=production (development
    keys refused), the broker password, the public key set, the people issuer's key and the
    registry's secrets as files, the way compose and Kubernetes mount secrets."""
    amqp_uri, amqp_password = _without_password(rabbit_config["AMQP_URI"])
    (tmp_path / "broker_password").write_text(amqp_password + "\n")
    (tmp_path / "token_public_keys").write_text(json.dumps(KEY_SET.jwks()))
    (tmp_path / "signing_key_people").write_text(PEOPLE_KEY.private_pem())
    for name, key in SERVICE_KEYS.items():
        (tmp_path / f"signing_key_{name}").write_text(key.private_pem())
    (tmp_path / "database_password").write_text(AWKWARD_PASSWORD + "\n")
    (tmp_path / "sign_in_code_secret").write_text(secrets.token_hex(32) + "\n")
    (tmp_path / "registry_id_card_key").write_text(f"2:{base64.b64encode(secrets.token_bytes(32)).decode()}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "AMQP_")) and "_DATABASE_URL" not in k}
    return {
        **env,
        "PATH": f"{os.path.dirname(sys.executable)}:{env['PATH']}",
        "AMQP_URI": amqp_uri,
        "AMQP_URI_PASSWORD_FILE": str(tmp_path / "broker_password"),
        "ALLIANCE_TOKEN_PUBLIC_KEYS_FILE": str(tmp_path / "token_public_keys"),
        "ALLIANCE_PEOPLE_SIGNING_KEY_FILE": str(tmp_path / "signing_key_people"),
        "REGISTRY_SIGN_IN_CODE_SECRET_FILE": str(tmp_path / "sign_in_code_secret"),
        "REGISTRY_ID_CARD_KEY_FILE": str(tmp_path / "registry_id_card_key"),
        "ALLIANCE_LOG_FORMAT": "json",
        "ALLIANCE_ENV": "production",
    }


def _database_env(env, urls, password_file):
    """Database URLs with no password in them, the password in a file (trust auth ignores it;
    a wrongly encoded one would break the URL)."""
    for name, url in urls.items():
        env[f"{name.upper()}_DATABASE_URL"] = url
        env[f"{name.upper()}_DATABASE_URL_PASSWORD_FILE"] = password_file
    return env


def _run(*args, env, timeout=60):
    return subprocess.run([ENTRYPOINT, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_each_service_argument_starts_that_service_until_sigterm(secrets_env, fresh_database, rabbit_config, tmp_path):
    env = _database_env(
        dict(secrets_env),
        {name: fresh_database(name) for name in database_services()},
        str(tmp_path / "database_password"),
    )
    ports = dict(zip(installed_services(), free_ports(len(installed_services())), strict=True))
    for name, port in ports.items():
        env[f"{name.upper()}_HTTP_ADDRESS"] = f"127.0.0.1:{port}"
    processes = {}
    try:
        for name in installed_services():
            with open(tmp_path / f"{name}.log", "w") as log:
                # Each service its own key; the gateway none.
                own = (
                    {"ALLIANCE_SIGNING_KEY_FILE": str(tmp_path / f"signing_key_{name}")} if name in SERVICE_KEYS else {}
                )
                processes[name] = subprocess.Popen(
                    [ENTRYPOINT, name], env={**env, **own}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        for name, port in ports.items():
            wait_until(
                lambda name=name, port=port: (
                    processes[name].poll() is None and _status(f"http://127.0.0.1:{port}/health/ready") == 200
                ),
                timeout=60,
                interval=0.2,
                message=f"{name} ready (log: {tmp_path / f'{name}.log'})",
            )
            assert processes[name].poll() is None, (tmp_path / f"{name}.log").read_text()

        # The key set came from its file: a token signed with its people key is accepted.
        token = TokenService(KEY_SET, PEOPLE_KEY).issue("entrypoint-test", "staff", roles=["admin"], districts=["*"])
        with AllianceClient(rabbit_config["AMQP_URI"], token, timeout=10) as alliance:
            assert alliance.registry.list_districts()
        # ... and the gateway passes it on to the registry, which verifies it.
        response = requests.get(
            f"http://127.0.0.1:{ports['gateway']}/v1/districts",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200 and response.json(), response.text
    finally:
        started = time.monotonic()
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {name: process.wait(timeout=30) for name, process in processes.items()}
    assert time.monotonic() - started < 25
    assert codes == dict.fromkeys(installed_services(), 0)


def _status(url):
    try:
        return get_json(url, timeout=2)[0]
    except OSError:
        return None


def test_migrate_applies_every_services_migrations_once(secrets_env, database_templates, tmp_path):
    # Databases that do not exist yet, named so that the session's clean-up drops them.
    urls = {name: database_url(f"{RUN_PREFIX}_entrypoint_{name}") for name in database_services()}
    env = _database_env(dict(secrets_env), urls, str(tmp_path / "database_password"))

    first = _run("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert [name for name in installed_services() if not has_database(name)] == ["gateway"]
    assert "gateway: no database of its own" in first.stdout
    for name, url in urls.items():
        expected = len(migration_files("alliance_platform")) + len(migration_files(service_package(name)))
        assert f"{name}: {expected} migration(s) applied" in first.stdout
        assert query(url, "SELECT count(*) AS n FROM schema_migrations")[0]["n"] == expected

    again = _run("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("0 migration(s) applied") == len(urls)


def test_alliance_runs_the_operator_cli_with_the_secrets_from_files(secrets_env):
    help_ = _run("alliance", "--help", env=secrets_env)
    assert help_.returncode == 0, help_.stderr
    assert "dead-letters" in help_.stdout and "migrate" in help_.stdout

    token = _run("alliance", "token", "--subject", "ops", "--kind", "system", "--role", "system", env=secrets_env)
    assert token.returncode == 0, token.stderr
    assert TokenService(KEY_SET).verify(token.stdout.strip()).subject == "ops"


@pytest.mark.parametrize(
    ("service", "without", "message"),
    [
        # The platform refuses the development keys the defaults would give it (events signs its
        # calls to the registry; tickets calls no service, so holds a key it never loads).
        ("notifications", "ALLIANCE_SIGNING_KEY_FILE", "ALLIANCE_ENV=production refuses the development signing key"),
        ("events", "ALLIANCE_TOKEN_PUBLIC_KEYS_FILE", "ALLIANCE_ENV=production refuses TOKEN_PUBLIC_KEYS=dev"),
        ("registry", "ALLIANCE_PEOPLE_SIGNING_KEY_FILE", "refuses the development signing key of people"),
        # The entrypoint refuses the registry's development secrets.
        ("registry", "REGISTRY_SIGN_IN_CODE_SECRET_FILE", "registry needs REGISTRY_SIGN_IN_CODE_SECRET"),
        ("registry", "REGISTRY_ID_CARD_KEY_FILE", "registry needs REGISTRY_ID_CARD_KEY"),
    ],
)
def test_in_production_a_service_missing_a_key_refuses_to_start(
    secrets_env, fresh_database, tmp_path, service, without, message
):
    """A deployment that forgot a key or secret does not start on the committed development ones."""
    env = _database_env(dict(secrets_env), {service: fresh_database(service)}, str(tmp_path / "database_password"))
    env[f"{service.upper()}_HTTP_ADDRESS"] = f"127.0.0.1:{free_ports(1)[0]}"
    env["ALLIANCE_SIGNING_KEY_FILE"] = str(tmp_path / f"signing_key_{service}")
    del env[without]
    result = _run(service, env=env, timeout=180)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        ((), {}, "usage: entrypoint.sh"),
        (("bogus",), {}, "unknown command 'bogus'"),
        (("registry", "--debug"), {}, "registry takes no arguments"),
        (("migrate", "registry"), {}, "migrate takes no arguments"),
        (("alliance", "--help"), {"ALLIANCE_SIGNING_KEY_FILE": "/nonexistent/secret"}, "not a readable file"),
        (("alliance", "--help"), {"ALLIANCE_TOKEN_PUBLIC_KEYS": "{}"}, "not both"),
        (("alliance", "--help"), {"AMQP_URI": "amqp://guest:guest@127.0.0.1/"}, "already holds a password"),
        (("alliance", "--help"), {"AMQP_URI": "amqp://127.0.0.1/"}, "must name its user"),
        (
            ("alliance", "--help"),
            {
                "TICKETS_READ_DATABASE_URL": "postgresql://tickets@a:5432,b:5432/t?target_session_attrs=prefer-standby",
                "TICKETS_READ_DATABASE_URL_PASSWORD_FILE": "/nonexistent/secret",
            },
            "TICKETS_READ_DATABASE_URL_PASSWORD_FILE names /nonexistent/secret",
        ),
    ],
    ids=[
        "no argument",
        "unknown",
        "service with arguments",
        "migrate with arguments",
        "missing secret file",
        "secret twice",
        "password twice",
        "url without user",
        "read url's password",
    ],
)
def test_a_wrong_invocation_exits_2_saying_why(secrets_env, args, extra_env, message):
    result = _run(*args, env={**secrets_env, **extra_env})
    assert result.returncode == 2
    assert message in result.stderr


def test_every_broker_node_and_every_database_host_gets_the_password_from_its_file(secrets_env, tmp_path):
    """AMQP_URI naming three nodes (kombu's failover syntax): the password reaches each node's URL,
    not only the first one's; a multi-host PostgreSQL URL is one URL and gets it once."""
    (tmp_path / "awkward").write_text(AWKWARD_PASSWORD + "\n")
    shown = tmp_path / "bin"
    shown.mkdir()
    # Stands in for the operator command: prints what the entrypoint handed on.
    (shown / "alliance").write_text('#!/bin/sh\nprintf "%s\\n%s\\n" "$AMQP_URI" "$TICKETS_DATABASE_URL"\n')
    (shown / "alliance").chmod(0o755)
    nodes = ["rabbit-0:5672", "rabbit-1:5672", "rabbit-2:5672"]
    env = {
        **secrets_env,
        "PATH": f"{shown}:{secrets_env['PATH']}",
        "AMQP_URI": ";".join(f"amqp://tickets@{node}/alliance" for node in nodes),
        "AMQP_URI_PASSWORD_FILE": str(tmp_path / "awkward"),
        "TICKETS_DATABASE_URL": "postgresql://tickets@pg-a:5432,pg-b:5432/alliance_tickets?target_session_attrs=read-write",
        "TICKETS_DATABASE_URL_PASSWORD_FILE": str(tmp_path / "awkward"),
    }
    result = _run("alliance", env=env)
    assert result.returncode == 0, result.stderr
    amqp_uri, database = result.stdout.splitlines()
    urls = amqp_uri.split(";")
    assert [urlsplit(url).netloc.rpartition("@")[2] for url in urls] == nodes
    assert {urlsplit(url).password for url in urls} == {"p%40ss%3Aw%2Frd%25%23%3F"}
    assert database.startswith("postgresql://tickets:p%40ss%3Aw%2Frd%25%23%3F@pg-a:5432,pg-b:5432/alliance_tickets")
