"""Migrations: ordered SQL files applied once each, recorded, safe to run from two processes at once.

A service database gets the platform's migrations (``alliance_platform/migrations``) first, then
its own (``<service package>/migrations``). Files are named ``NNNN_description.sql`` and applied
in name order, each in its own transaction together with its record in ``schema_migrations``.
A PostgreSQL advisory lock serialises concurrent runs: the second waits, then finds nothing to do.
An applied file that was edited afterwards is an error, never silently skipped.
"""

import hashlib
import re
from importlib import resources

import psycopg
import psycopg.errors
import structlog
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .config import load_config, service_package

log = structlog.get_logger("alliance.migrate")

MIGRATION_LOCK_KEY = 0x6D696772  # "migr"
_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    pass


def migration_files(package):
    folder = resources.files(package).joinpath("migrations")
    if not folder.is_dir():
        return []
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    bad = [f.name for f in files if not _NAME.match(f.name)]
    if bad:
        raise MigrationError(f"{package}: migration names must look like 0001_name.sql: {bad}")
    return [(f"{package}/{f.name}", f.read_text(encoding="utf-8")) for f in files]


def ensure_database(url):
    """Create the database named in ``url`` if it does not exist yet. ``url`` may be a URL or
    libpq's keywords, and name several hosts (``target_session_attrs=read-write``: the primary)."""
    name = conninfo_to_dict(url).get("dbname")
    if not name:
        return False
    admin_url = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return False  # created by a concurrent run
        log.info("database created", database=name)
        return True


def apply(url, packages):
    """Apply the pending migrations of ``packages`` (in order) to the database at ``url``."""
    ensure_database(url)
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())
            for package in packages:
                for name, text in migration_files(package):
                    checksum = hashlib.sha256(text.encode()).hexdigest()
                    if name in done:
                        if done[name] != checksum:
                            raise MigrationError(
                                f"{name} was changed after it was applied; add a new migration instead"
                            )
                        continue
                    with conn.transaction():
                        conn.execute(text)
                        conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, checksum))
                    applied_now.append(name)
                    log.info("migration applied", migration=name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def migrate_service(name, config=None):
    """The migrations applied now to service ``name``'s database; None for a service without a
    database of its own (the gateway)."""
    config = config or load_config(name)
    if not config.get("DATABASE_URL"):
        return None
    return apply(config["DATABASE_URL"], ["alliance_platform", service_package(name)])


def describe(applied):
    if applied is None:
        return "no database of its own"
    return f"{len(applied)} migration(s) applied" + (f": {', '.join(applied)}" if applied else "")


def main(argv=None):
    """``alliance-migrate [SERVICE ...]``: create each service's database if missing and apply its
    migrations (every installed service by default). What a deployment's migration job runs; the
    operator command's ``alliance migrate`` does the same."""
    import argparse
    import sys

    from . import logs
    from .config import installed_services

    parser = argparse.ArgumentParser(prog="alliance-migrate", description=main.__doc__.split(".")[0])
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    args = parser.parse_args(argv)
    unknown = set(args.services) - set(installed_services())
    if unknown:
        parser.error(f"unknown services {sorted(unknown)}; installed: {installed_services()}")
    logs.configure("console", "INFO", stream=sys.stderr)
    try:
        for name in args.services or installed_services():
            print(f"{name}: {describe(migrate_service(name))}")
    except MigrationError as exc:
        print(f"alliance-migrate: {exc}", file=sys.stderr)
        return 1
    return 0
