"""deploy/postgres/init-databases.sh, run as the PostgreSQL image runs it on a new data directory
(here against a private server): a role and a database per service that owns one (not the
gateway), each closed to the other services' roles; then the image's `migrate` applies every
migration as each service's own role."""

import os
import shutil
import subprocess
import sys

import psycopg
import pytest

from tests.deploy.conftest import DEPLOY, database_services
from tests.support.servers import PrivatePostgres
from tests.support.servers import workdir as private_workdir


@pytest.fixture(scope="module")
def postgres():
    with private_workdir("alliance-deploy-postgres-") as workdir, PrivatePostgres(workdir / "postgres") as server:
        yield server


@pytest.fixture(scope="module")
def initialised(postgres, tmp_path_factory):
    secrets = tmp_path_factory.mktemp("secrets")
    for name in database_services():
        # A quote and a backslash: the script must pass the password to SQL as a literal.
        (secrets / f"postgres_{name}_password").write_text(f"pw-{name}-it's\\odd\n")
    env = {
        **os.environ,
        "ALLIANCE_SECRETS_DIR": str(secrets),
        "POSTGRES_USER": postgres.superuser,
        "PGHOST": postgres.host,
        "PGPORT": str(postgres.port),
    }
    result = subprocess.run([str(DEPLOY / "postgres" / "init-databases.sh")], env=env, capture_output=True, text=True)
    shutil.rmtree(secrets)
    assert result.returncode == 0, result.stderr
    return postgres


def _url(postgres, role, database):
    return f"postgresql://{role}@{postgres.host}:{postgres.port}/{database}"


def test_each_service_owns_its_database_with_a_password(initialised):
    with psycopg.connect(initialised.url(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.datname, r.rolname, a.rolpassword IS NOT NULL AS has_password"
            " FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba JOIN pg_authid a ON a.oid = r.oid"
            " WHERE d.datname LIKE 'alliance_%'"
        ).fetchall()
    assert sorted(rows) == sorted((f"alliance_{name}", name, True) for name in database_services())
    with psycopg.connect(initialised.url(), autocommit=True) as conn:
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'gateway'").fetchall()


def test_a_service_role_cannot_connect_to_another_services_database(initialised):
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_url(initialised, "tickets", "alliance_registry"))
    psycopg.connect(_url(initialised, "tickets", "alliance_tickets")).close()


def test_migrations_apply_as_each_services_own_role(initialised):
    env = {
        **os.environ,
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
        **{f"{n.upper()}_DATABASE_URL": _url(initialised, n, f"alliance_{n}") for n in database_services()},
    }
    result = subprocess.run([str(DEPLOY / "entrypoint.sh"), "migrate"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "gateway: no database of its own" in result.stdout
    with psycopg.connect(initialised.url("alliance_tickets")) as conn:
        owners = {owner for (owner,) in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    assert owners == {"tickets"}
