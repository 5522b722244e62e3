"""The tickets service started by the shared harness (its clock, callers by role, what it
published), plus what only it needs: its read model of the registry seeded, a ticket's timeline."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.harness import ServiceHarness
from tests.support.helpers import query


class TicketsHarness(ServiceHarness):
    """The shared harness with the tickets service's own seeding helpers."""

    def seed_merchant(self, district="wholesale_city", name="鑫盛五金"):
        merchant_id = str(uuid.uuid4())
        query(
            self.database,
            "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status)"
            " VALUES (%s, %s, %s, 'active') RETURNING merchant_id",
            (merchant_id, name, district),
        )
        return merchant_id

    def seed_person(self, roles, district="wholesale_city", skills=(), name="张三"):
        person_id = str(uuid.uuid4())
        query(
            self.database,
            "INSERT INTO people_directory (person_id, name, district_id, roles, skills)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING person_id",
            (person_id, name, district, list(roles), list(skills)),
        )
        return person_id

    def seed_pairing(self, member_id, merchant_id):
        query(
            self.database,
            "INSERT INTO pairing_directory (pairing_id, member_id, merchant_id, active)"
            " VALUES (%s, %s, %s, true) RETURNING pairing_id",
            (str(uuid.uuid4()), member_id, merchant_id),
        )

    def timeline(self, ticket_id):
        return query(self.database, "SELECT * FROM timeline WHERE ticket_id = %s ORDER BY id", (ticket_id,))


# Tuesday 1 December 2026, 10:00 in Dezhou: a working morning, whatever day the tests run.
START = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def tickets(service_harness):
    """The tickets service, its clock at ``START``, its SLA sweep every 50 ms."""
    started = service_harness("tickets", START, SLA_SWEEP_INTERVAL=0.05)
    return TicketsHarness(started.container, started.time, started.tokens, started.client, started.extras)


def demand(merchant_id, **overrides):
    return {
        "merchant_id": merchant_id,
        "category": "bank_financing",
        "title": "申请小微企业经营贷款",
        "description": "店铺扩大经营，需要周转资金约50万元。",
        "handling_mode": "assisted",
        **overrides,
    }
