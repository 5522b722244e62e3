"""The registry started through the shared service harness (its clock, callers by role, what it
published), with a look into its database."""

from dataclasses import fields
from datetime import UTC, datetime, time

import pytest

from alliance_platform.clock import Clock
from alliance_registry.domain.days import CHINA, today
from tests.support.harness import ServiceHarness
from tests.support.helpers import query
from tests.use_cases.registry.samples import floating_fields, person_fields


class Registry(ServiceHarness):
    """The shared harness, and the registry's own database and events."""

    def now(self):
        """What the registry's clock reads."""
        return Clock(self.time.path).now()

    def db(self, sql, params=None):
        """Rows of the registry's database."""
        return query(self.database, sql, params)

    def events(self):
        """Every event the registry recorded, in commit order: [(event_type, payload), ...]."""
        return [(body["event_type"], body["payload"]) for body in self.published()]

    def event_types(self):
        return [event_type for event_type, _ in self.events()]


@pytest.fixture
def registry(service_harness):
    """The started registry, its clock at 10:00 of the alliance's day (no test runs into midnight)."""
    started = service_harness("registry", datetime.combine(today(datetime.now(UTC)), time(10), CHINA))
    return Registry(**{field.name: getattr(started, field.name) for field in fields(started)})


@pytest.fixture
def floating_member():
    """``floating_member(alliance, arrived)`` -> (person, member): 陈浙商 registered through ``alliance``
    and made a floating Party member (流动党员) of the Wholesale City branch, from Yiwu, Zhejiang,
    arrived (and his activity card issued) on the date ``arrived``."""

    def register(alliance, arrived):
        person = alliance.registry.register_person(**person_fields(name="陈浙商"))
        member = alliance.registry.register_party_member(
            person_id=person["person_id"],
            branch_id="branch_wholesale_city",
            joined_on="2012-06-30",
            floating=floating_fields(arrived),
        )
        return person, member

    return register
