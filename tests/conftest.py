"""Fixtures for every test level. Integration and end-to-end tests use the real PostgreSQL and
RabbitMQ: each test gets fresh databases cloned from migrated templates, and nameko's
``rabbit_config`` gives it a fresh broker vhost, so tests never see each other's data.

The servers are the ones AMQP_URI, RABBIT_MANAGEMENT_URI and PG_ADMIN_URL name, as for the services
and ``scripts/infra.py`` (``tests/support/helpers.py``); nameko's own options for them are refused."""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402
import pytest  # noqa: E402

from alliance_platform import logs  # noqa: E402
from alliance_platform.config import installed_services, load_config, platform_defaults, service_package  # noqa: E402
from alliance_platform.identity import TokenService  # noqa: E402
from alliance_platform.rpc import AllianceClient  # noqa: E402
from alliance_platform.store import green  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.databases import TestDatabases  # noqa: E402
from tests.support.harness import service_harness, use_case  # noqa: E402,F401  (fixtures for every level)
from tests.support.helpers import AMQP_URI, PG_ADMIN_URL, RABBIT_MANAGEMENT_URI, database_url  # noqa: E402,F401  (database_url: tests import it from here)
from tests.support.signers import signer_config  # noqa: E402

RUN_PREFIX = f"alliance_t{os.getpid()}"

# Services whose databases tests can ask for, with the migration packages of each.
DATABASE_PACKAGES = {
    name: ["alliance_platform", service_package(name)]
    for name in installed_services()
    if load_config(name).get("DATABASE_URL")  # not the gateway: it has no database of its own
}
DATABASE_PACKAGES["probe"] = ["alliance_platform", "tests.support"]


def _admin():
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def _stale_test_databases(conn):
    """Databases left by earlier test runs whose process is gone (killed runs)."""
    stale = []
    for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'alliance_t%%'"):
        pid = name[len("alliance_t") :].split("_", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            stale.append(name)
    return stale


# nameko's pytest plugin (``rabbit_manager``, ``vhost_pipeline``, ``rabbit_config``) reads the broker
# from options of its own, with defaults of its own: option -> (its destination, nameko's default, our variable).
NAMEKO_BROKER_OPTIONS = {
    "--amqp-uri": ("RABBIT_AMQP_URI", "pyamqp://guest:guest@localhost:5672/", "AMQP_URI"),
    "--rabbit-ctl-uri": ("RABBIT_API_URI", "http://guest:guest@localhost:15672", "RABBIT_MANAGEMENT_URI"),
}


green.install()  # tests run database work under eventlet, as the services do


# The private servers this run starts (tests/support/servers.py) are registered here; a run ends
# those of earlier runs that were killed before their teardown (never the machine's servers, never
# another live run's).
SERVER_REGISTRY = Path(tempfile.gettempdir()) / "alliance-test-servers"


def pytest_configure(config):
    logs.configure(fmt="console", level=os.environ.get("ALLIANCE_TEST_LOG_LEVEL", "WARNING"))
    for ended in servers.register_for_orphan_sweep(SERVER_REGISTRY):
        print(f"ended a private server left by a killed test run: {ended}")
    # The services under test read AMQP_URI and RABBIT_MANAGEMENT_URI: a broker given to nameko's
    # options alone would leave them on another one, so those options are refused, not merged.
    for option, (dest, nameko_default, variable) in NAMEKO_BROKER_OPTIONS.items():
        if config.getoption(dest) != nameko_default:
            raise pytest.UsageError(f"{option} is not used by this suite: set {variable} instead")
    config.option.RABBIT_AMQP_URI = AMQP_URI
    # nameko's management client appends "/api" itself.
    config.option.RABBIT_API_URI = RABBIT_MANAGEMENT_URI.rstrip("/")


_databases = TestDatabases(RUN_PREFIX, _admin, DATABASE_PACKAGES)


@pytest.fixture(scope="session")
def database_templates():
    """Migrated template databases, made on first use (``database_templates(kind)`` -> its name);
    all of this run's databases dropped at the end."""
    with _admin() as conn:
        stale = _stale_test_databases(conn)
    _databases.drop(stale)
    yield lambda kind: _databases.template(kind).name
    with _admin() as conn:
        names = [
            n for (n,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{RUN_PREFIX}_%",))
        ]
    _databases.drop(names)


def pytest_terminal_summary(terminalreporter):
    made, reused = _databases.made, _databases.reused
    if made or reused:
        terminalreporter.write_line(f"test databases: {made} made from templates, {reused} handed back and reused")


@pytest.fixture
def fresh_database(database_templates):
    """``fresh_database("registry")`` -> URL of a database with that service's schema and seed rows
    and nothing else: made from the migrated template, or one an earlier test used, handed back to
    the template's state once that test's teardown was over (tests/support/databases.py)."""
    return _databases.take


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # every fixture of the test torn down: no process of the test uses its databases any more
    _databases.give_back()


@pytest.fixture
def tokens():
    """The people issuer (the development key the registry signs with)."""
    return TokenService.from_config(load_config("registry"))


@pytest.fixture
def admin_token(tokens):
    return tokens.issue("admin-1", "staff", roles=["admin"], districts=["*"])


@pytest.fixture
def service_config(rabbit_config, fresh_database):
    """``service_config("tickets", database="tickets", **overrides)``: test config for one service.

    The database defaults to a fresh one of the service's own kind; pass ``database=url`` to share.
    """

    def make(name, database=None, kind=None, **overrides):
        base = load_config(name) if name in installed_services() else platform_defaults()
        base.update(
            {
                "SERVICE_NAME": name,
                "AMQP_URI": rabbit_config["AMQP_URI"],
                "RABBIT_MANAGEMENT_URI": RABBIT_MANAGEMENT_URI,
                "WEB_SERVER_ADDRESS": "127.0.0.1:0",
                "EVENT_RETRY_DELAYS_MS": [50, 100],
                "OUTBOX_POLL_INTERVAL": 0.05,
                "OUTBOX_MAX_BACKOFF": 0.5,
                "RPC_TIMEOUT": 5,
                "RPC_VALIDATE_RESULTS": True,
            }
        )
        base.update(signer_config(name))
        if "DATABASE_URL" in base or name not in installed_services():  # the gateway has no database
            base["DATABASE_URL"] = database or fresh_database(kind or name)
        base.update(overrides)
        return base

    return make


@pytest.fixture
def client(rabbit_config, admin_token):
    """``with client() as alliance:`` as the alliance administrator, or ``client(token)``."""

    def make(token=None, timeout=5.0, correlation_id=None):
        return AllianceClient(
            rabbit_config["AMQP_URI"], token or admin_token, timeout=timeout, correlation_id=correlation_id
        )

    return make
