"""Migrations apply once, in order, recorded; two processes at once are safe; edits are caught."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alliance_platform.migrate import MigrationError, apply, migration_files
from tests.conftest import RUN_PREFIX, database_url
from tests.support.helpers import query

PACKAGES = ["alliance_platform", "alliance_registry"]


@pytest.fixture
def empty_database_url(database_templates, request):
    database_templates("registry")  # registers this run's cleanup of every test database
    return database_url(f"{RUN_PREFIX}_migrate_{request.node.name[:30].lower()}")


def test_each_migration_applies_once_and_is_recorded(empty_database_url):
    first = apply(empty_database_url, PACKAGES)
    assert first == [name for package in PACKAGES for name, _ in migration_files(package)]
    assert first[0] == "alliance_platform/0001_platform.sql"
    assert apply(empty_database_url, PACKAGES) == []
    recorded = query(empty_database_url, "SELECT name FROM schema_migrations ORDER BY applied_at, name")
    assert [r["name"] for r in recorded] == first
    assert query(empty_database_url, "SELECT count(*) AS n FROM districts")[0]["n"] == 3


def test_two_processes_migrating_at_once_apply_everything_exactly_once(empty_database_url):
    alliance = Path(sys.executable).with_name("alliance")
    env = {**os.environ, "REGISTRY_DATABASE_URL": empty_database_url}
    runs = [
        subprocess.Popen([alliance, "migrate", "registry"], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outputs = sorted(run.communicate(timeout=60)[0].strip() for run in runs)
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs[0] == "registry: 0 migration(s) applied"
    count = sum(len(migration_files(package)) for package in PACKAGES)
    assert outputs[1].startswith(f"registry: {count} migration(s) applied")
    assert query(empty_database_url, "SELECT count(*) AS n FROM districts")[0]["n"] == 3


def test_an_applied_migration_that_was_edited_is_an_error(empty_database_url):
    apply(empty_database_url, PACKAGES)
    query(
        empty_database_url,
        "UPDATE schema_migrations SET checksum = 'edited' WHERE name LIKE 'alliance_registry/%%' RETURNING name",
    )
    with pytest.raises(MigrationError, match="changed after it was applied"):
        apply(empty_database_url, PACKAGES)
