"""A service with a read URL: read-only calls go to the standby, commands to the primary, and a
caller always reads its own write back, however soon it asks.

A private primary and its streaming standby (tests/support/standby.py), the primary waiting for
the standby to apply each commit; the machine's PostgreSQL plays a primary without a standby.
"""

import uuid

import pytest

from alliance_platform.config import service_class
from alliance_platform.migrate import apply
from alliance_platform.store import Database
from tests.integration.tickets.conftest import demand
from tests.support.helpers import query, wait_until
from tests.support.servers import workdir
from tests.support.standby import ReplicatedPostgres

DB = "alliance_tickets_reads"


@pytest.fixture(scope="module")
def replicated():
    with workdir("alliance-standby-") as folder, ReplicatedPostgres(folder) as servers:
        servers.primary.sql(f"CREATE DATABASE {DB}")
        apply(servers.url(DB), ["alliance_platform", "alliance_tickets"])
        yield servers


def database_of(container):
    return next(d for d in container.dependencies if isinstance(d, Database))


def seed_merchant(url):
    merchant = str(uuid.uuid4())
    query(
        url,
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
        " VALUES (%s, '读写商户', 'wholesale_city', 'active') RETURNING merchant_id",
        (merchant,),
    )
    return merchant


def test_reads_go_to_the_standby_and_a_caller_reads_its_own_writes(
    replicated, container_factory, service_config, client
):
    primary_url, read_url = replicated.url(DB), replicated.url(DB, read=True)
    merchant = seed_merchant(primary_url)
    container = container_factory(
        service_class("tickets"),
        service_config("tickets", database=primary_url, READ_DATABASE_URL=read_url, READ_DATABASE_CHECK_INTERVAL=0.1),
    )
    container.start()
    db = database_of(container)
    wait_until(lambda: db.standby_reads, timeout=30, message="the primary to report its synchronous standby")
    db.standby_reads = False  # as if the primary had said otherwise: it is asked again, and says so
    wait_until(lambda: db.standby_reads, timeout=30, message="the primary asked again about its standbys")

    with client(timeout=10) as alliance:
        for n in range(30):
            submitted = alliance.tickets.submit_ticket(**demand(merchant, title=f"读己之写 {n}"))
            # At once, by the same caller: a get and a list, both read-only, both on the standby.
            got = alliance.tickets.get_ticket(ticket_id=submitted["ticket_id"])
            assert got["reference"] == submitted["reference"]
            listed = alliance.tickets.list_tickets(merchant_id=merchant, limit=100)
            assert submitted["ticket_id"] in {t["ticket_id"] for t in listed["items"]}

    # The reads were served by the standby's pool, whose server is in recovery; the commands by the
    # primary's, with remote_apply.
    assert db.read_pool.get_stats()["requests_num"] >= 60
    with db.read_pool.connection() as conn:
        assert conn.execute("SELECT pg_is_in_recovery() AS r").fetchone()["r"] is True
    with db.pool.connection() as conn:
        row = conn.execute("SELECT pg_is_in_recovery() AS r, current_setting('synchronous_commit') AS s").fetchone()
        assert (row["r"], row["s"]) == (False, "remote_apply")


def test_without_a_synchronous_standby_reads_stay_on_the_primary(container_factory, service_config, client):
    # The machine's server streams to no standby: a read URL given anyway must not be used, since
    # nothing makes a commit visible there before it is acknowledged.
    config = service_config("tickets")
    config["READ_DATABASE_URL"] = config["DATABASE_URL"]
    merchant = seed_merchant(config["DATABASE_URL"])
    container = container_factory(service_class("tickets"), config)
    container.start()
    db = database_of(container)
    wait_until(lambda: db.pool.get_stats().get("connections_num", 0) >= 1, timeout=30, message="a primary connection")

    with client(timeout=10) as alliance:
        submitted = alliance.tickets.submit_ticket(**demand(merchant))
        assert alliance.tickets.get_ticket(ticket_id=submitted["ticket_id"])["reference"] == submitted["reference"]
    assert db.standby_reads is False
    assert db.read_pool.get_stats().get("requests_num", 0) == 0


def test_migrations_reach_the_primary_named_anywhere_in_a_multi_host_conninfo(replicated):
    # libpq's keywords, the standby first: the database is made and migrated where writes go.
    standby, primary = replicated.standby, replicated.primary
    conninfo = (
        f"host={standby.host},{primary.host} port={standby.port},{primary.port} user=postgres"
        " dbname=alliance_tickets_migrated target_session_attrs=read-write"
    )
    assert apply(conninfo, ["alliance_platform", "alliance_tickets"])  # something applied
    assert query(primary.url("alliance_tickets_migrated"), "SELECT count(*) AS n FROM schema_migrations")[0]["n"] > 0
