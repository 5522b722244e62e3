"""Starting the tickets and events services for their scenarios: each on a database of the bench's
own, made afresh (or kept, for data sets that take a while to load), in the bench's vhost."""

import psycopg
from psycopg import sql

from alliance_platform.config import load_config, service_package
from alliance_platform.identity import TokenService
from alliance_platform.migrate import apply

from .environment import _with_path

PORTS = {"tickets": 18102, "events": 18103}


def fresh_database(env, name, twin=False):
    """A new, migrated database ``alliance_bench_<name>`` for service ``name``; returns its URL.
    ``twin``: another one made the same way (``..._twin``), for a baseline to replay into."""
    database = f"alliance_bench_{name}" + ("_twin" if twin else "")
    with psycopg.connect(env.admin_db, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    url = _with_path(env.admin_db, f"/{database}")
    apply(url, ["alliance_platform", service_package(name)])
    return url


def start(env, name, database, record=False, address=None):
    """Run service ``name`` on ``database`` (restarting it if it runs on another one); ``record``:
    its sessions' statements recorded for a baseline (``composite.py``)."""
    if name in env._processes:
        env._stop(name)
    env.start_service(name, database, address or f"127.0.0.1:{PORTS[name]}", record=record)


def token(roles=("admin", "system"), districts=("*",), subject="bench", kind="system"):
    return TokenService.from_config(load_config("registry")).issue(
        subject, kind, roles=list(roles), districts=list(districts)
    )
