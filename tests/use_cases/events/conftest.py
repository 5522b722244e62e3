"""The events service's use cases on a real database, without nameko or the broker: each call
loads its arguments through the input schema of the RPC method of the same name, as that
entrypoint does, and runs in a transaction of its own, at a clock the test sets."""

from datetime import timedelta

import pytest

from alliance_events.service import EventsService
from alliance_events.settings import Settings
from alliance_platform.config import load_config
from tests.integration.events.conftest import START, activity, evaluation  # noqa: F401  (the same samples)
from tests.support.harness import identity
from tests.support.helpers import query

SETTINGS = Settings.from_config(load_config("events"))
ADMIN = identity("staff", ["admin"], ["*"], subject="admin")
SYSTEM = identity("system", ["system"], subject="crm")
# Everything a command could write: a refused one leaves all of it as it was.
TABLES = (
    "activities",
    "registrations",
    "series",
    "nominations",
    "votes",
    "points",
    "meetings",
    "meeting_attendees",
    "meeting_overdue_notices",
    "check_in_rosters",
    "check_in_downloads",
    "check_in_scans",
    "outbox",
)


def organiser(district="outlets", subject="organiser"):
    return identity("staff", ["staff"], [district], subject=subject)


def member(subject, district="outlets", roles=("party_member",)):
    return identity("staff", roles, [district], subject=subject)


def shop(merchant_id, subject, district="outlets"):
    return identity("merchant", ["merchant"], [district], subject=subject, merchant_id=merchant_id)


class Events:
    """The events service's use cases on one fresh database."""

    def __init__(self, use_case):
        self._use_case = use_case
        self.now = START
        self.settings = SETTINGS  # a test may replace it (dataclasses.replace) for other config

    def call(self, function, caller, ports=None, **arguments):
        """``function(ctx, cmd)`` for ``caller`` now, ``cmd`` loaded from ``arguments`` by the input
        schema of the RPC method ``function`` is named after; ``ports`` are its other arguments."""
        cmd = getattr(EventsService, function.__name__).rpc_schema.load(arguments)
        with self._use_case("events", caller=caller, now=self.now, settings=self.settings) as ctx:
            return function(ctx, cmd, **(ports or {}))

    def tick(self, function, *ports):
        """A timer's job, as the service runs it: nobody calls."""
        with self._use_case("events", caller=None, now=self.now, settings=self.settings) as ctx:
            return function(ctx, *ports)

    def advance(self, **delta):
        self.now += timedelta(**delta)

    def query(self, sql, params=None):
        return query(self._use_case.database("events"), sql, params)

    def payloads(self, event_type):
        rows = self.query("SELECT body::jsonb AS body FROM outbox WHERE event_type = %s ORDER BY id", (event_type,))
        return [row["body"]["payload"] for row in rows]

    def assert_counters_match(self, activity_id):
        """The seat counters on the activity's row say what its registrations say: confirmed and
        offered seats overall and by district, and the waiters."""
        [counters] = self.query(
            "SELECT confirmed_count, confirmed_by_district, offered_count, offered_by_district, waiting_count"
            " FROM activities WHERE id = %s",
            (activity_id,),
        )
        rows = self.query("SELECT district_id, status FROM registrations WHERE activity_id = %s", (activity_id,))
        for status in ("confirmed", "offered"):
            by_district = {}
            for row in rows:
                if row["status"] == status:
                    by_district[row["district_id"]] = by_district.get(row["district_id"], 0) + 1
            assert counters[f"{status}_count"] == sum(by_district.values()), status
            assert {d: n for d, n in counters[f"{status}_by_district"].items() if n} == by_district, status
        assert counters["waiting_count"] == sum(row["status"] == "waitlisted" for row in rows)

    def snapshot(self):
        tables = ", ".join(
            f"(SELECT array_agg(t::text ORDER BY t::text) FROM {table} t) AS {table}" for table in TABLES
        )
        return self.query(f"SELECT {tables}")[0]

    def refused(self, error, function, caller, ports=None, **arguments):
        """Call, expect ``error``, and check that nothing changed; the error."""
        before = self.snapshot()
        with pytest.raises(error) as caught:
            self.call(function, caller, ports, **arguments)
        assert self.snapshot() == before, f"{function.__name__} refused with {caught.value!r} but changed the data"
        return caught.value


@pytest.fixture
def events(use_case):
    return Events(use_case)
