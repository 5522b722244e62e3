"""A started tickets service with a movable clock, its read model seeded, and people to act as."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alliance_platform.clock import ControlledTime
from alliance_platform.config import service_class
from tests.support.helpers import query


@dataclass
class Desk:
    """The tickets service under test and the people who use it."""

    container: object
    database: str
    time: ControlledTime
    tokens: object
    client: object

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

    def merchant(self, merchant_id):
        return self.client(
            self.tokens.issue(f"owner-{merchant_id[:8]}", "merchant", roles=["merchant"], merchant_id=merchant_id)
        )

    def staff(self, person_id=None, district="wholesale_city", roles=("staff",)):
        return self.client(
            self.tokens.issue(person_id or str(uuid.uuid4()), "staff", roles=list(roles), districts=[district])
        )

    def admin(self):
        return self.client()

    def events(self, event_type=None):
        rows = query(self.database, "SELECT event_type, body::jsonb AS body FROM outbox ORDER BY id")
        return [r["body"] for r in rows if event_type is None or r["event_type"] == event_type]

    def timeline(self, ticket_id):
        return query(self.database, "SELECT * FROM timeline WHERE ticket_id = %s ORDER BY id", (ticket_id,))


# Tuesday 1 December 2026, 10:00 in Dezhou: a working morning, whatever day the tests run.
START = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def desk(container_factory, service_config, tokens, client, tmp_path):
    offset_file = tmp_path / "clock-offset"
    ControlledTime(offset_file).set(START)
    config = service_config("tickets", CLOCK_OFFSET_FILE=str(offset_file), SLA_SWEEP_INTERVAL=0.05)
    container = container_factory(service_class("tickets"), config)
    container.start()
    return Desk(container, config["DATABASE_URL"], ControlledTime(offset_file), tokens, client)


def demand(merchant_id, **overrides):
    return {
        "merchant_id": merchant_id,
        "category": "bank_financing",
        "title": "申请小微企业经营贷款",
        "description": "店铺扩大经营，需要周转资金约50万元。",
        "handling_mode": "assisted",
        **overrides,
    }
