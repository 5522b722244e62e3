"""The registry's use cases and queries run on a real PostgreSQL session of a fresh registry
database, without nameko or a broker: ``register(use_cases.register_merchant, caller, **fields)``
loads ``fields`` as the RPC method of that name loads them and runs the function in one
transaction (committed, or rolled back if it raises)."""

from datetime import UTC, datetime

import pytest

from alliance_platform.config import load_config
from alliance_platform.entrypoints import load_arguments
from alliance_registry.service import RegistryService
from alliance_registry.settings import Settings
from tests.support.harness import identity
from tests.support.helpers import query

NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Dezhou
SETTINGS = Settings.from_config(load_config("registry"))

ADMIN = identity("staff", roles=["admin"], subject="admin-1")


def staff(*districts, roles=("staff",)):
    return identity("staff", roles=roles, districts=districts or ("wholesale_city",))


def merchant(record, subject=None):
    """The caller acting for ``record`` (a merchant as the use cases return it)."""
    return identity("merchant", roles=["merchant"], subject=subject, merchant_id=record["merchant_id"])


class Register:
    """A fresh registry database and the use cases run on it; ``now`` is what their clock reads."""

    def __init__(self, use_case):
        self._use_case = use_case
        self.now = NOON

    def __call__(self, function, caller=ADMIN, **fields):
        schema = getattr(RegistryService, function.__name__).rpc_schema
        cmd = load_arguments(schema, (), fields)
        with self._use_case("registry", caller=caller, now=self.now, settings=SETTINGS) as ctx:
            return function(ctx) if schema is None else function(ctx, cmd)

    def run(self, function, *args, caller=None):
        """``function(ctx, *args)`` in one transaction (a timer, an event handler's use case)."""
        with self._use_case("registry", caller=caller, now=self.now, settings=SETTINGS) as ctx:
            return function(ctx, *args)

    def db(self, sql, params=None):
        return query(self._use_case.database("registry"), sql, params)

    def count(self, table):
        return self.db(f"SELECT count(*) AS n FROM {table}")[0]["n"]

    def events(self, event_type=None):
        """[(event_type, payload)] recorded in the outbox, in commit order."""
        rows = self.db("SELECT event_type, body::jsonb AS body FROM outbox ORDER BY id")
        return [(r["event_type"], r["body"]["payload"]) for r in rows if event_type in (None, r["event_type"])]

    def event_types(self):
        return [event_type for event_type, _ in self.events()]

    def history(self, aggregate_id):
        return self.db(
            "SELECT action, details, actor FROM history WHERE aggregate_id = %s ORDER BY id", (aggregate_id,)
        )


@pytest.fixture
def register(use_case):
    return Register(use_case)
