"""A started events service on a fixed clock, the people who organise and join activities, and a
registry with merchants for the evaluations that ask it."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alliance_platform.clock import ControlledTime
from alliance_platform.config import service_class
from alliance_registry.identifiers import make_credit_code
from tests.support.helpers import query

# Monday 1 June 2026, 09:00 in Dezhou.
START = datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Office:
    container: object
    database: str
    time: ControlledTime
    tokens: object
    client: object

    def organiser(self, district="outlets", person_id=None):
        return self.client(
            self.tokens.issue(
                person_id or f"staff-{uuid.uuid4().hex[:8]}", "staff", roles=["staff"], districts=[district]
            )
        )

    def member(self, person_id=None, district="outlets", roles=("party_member",)):
        return self.client(
            self.tokens.issue(
                person_id or f"p-{uuid.uuid4().hex[:8]}", "staff", roles=list(roles), districts=[district]
            )
        )

    def merchant(self, merchant_id=None, district="outlets", person_id=None):
        merchant_id = merchant_id or str(uuid.uuid4())
        token = self.tokens.issue(
            person_id or f"owner-{merchant_id[:8]}",
            "merchant",
            roles=["merchant"],
            merchant_id=merchant_id,
            districts=[district],
        )
        return self.client(token)

    def admin(self):
        return self.client()

    def events(self, event_type=None):
        rows = query(self.database, "SELECT event_type, body::jsonb AS body FROM outbox ORDER BY id")
        return [r["body"]["payload"] for r in rows if event_type is None or r["event_type"] == event_type]


@pytest.fixture
def office(container_factory, service_config, tokens, client, tmp_path):
    offset_file = tmp_path / "clock-offset"
    ControlledTime(offset_file).set(START)
    config = service_config("events", CLOCK_OFFSET_FILE=str(offset_file), ACTIVITY_TIMER_INTERVAL=0.05)
    container = container_factory(service_class("events"), config)
    container.start()
    return Office(container, config["DATABASE_URL"], ControlledTime(offset_file), tokens, client)


def activity(**overrides):
    """A themed promotion a week ahead, registration open now until the day before."""
    starts = START + timedelta(days=7)
    return {
        "title": "端午亲子露营节",
        "type": "themed_promotion",
        "description": "三大商圈联合举办的端午主题消费活动。",
        "organisers": ["outlets"],
        "venue": "德百奥莱广场中庭",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=8)).isoformat(),
        "registration_opens_at": START.isoformat(),
        "registration_closes_at": (starts - timedelta(days=1)).isoformat(),
        "capacity": 3,
        "audience": {"kinds": ["merchants", "party_members"], "districts": []},
        "theme_tags": ["露营", "亲子"],
        **overrides,
    }


@pytest.fixture
def registry(container_factory, service_config):
    """A started registry: the events service asks it whether a nominated merchant exists."""
    container = container_factory(service_class("registry"), service_config("registry"))
    container.start()
    return container


@pytest.fixture
def merchants(registry, client):
    """Three merchants in the running registry, which the events service asks; the first two are
    owned by Party members (only those can be honoured), the third is not."""
    found = []
    with client() as admin:
        for n, name in enumerate(["红星服饰", "德百鞋城", "奥莱童装"]):
            owner = admin.registry.register_person(name=f"店主{n}", mobile=f"1391234{n:04d}", district_id="outlets")
            if n < 2:
                admin.registry.register_party_member(
                    person_id=owner["person_id"], branch_id="branch_outlets", joined_on="2010-07-01"
                )
            found.append(
                admin.registry.register_merchant(
                    shop_name=name,
                    district_id="outlets",
                    category="服装",
                    credit_code=make_credit_code(f"9137140000000{n:04d}"),
                    owner_id=owner["person_id"],
                )["merchant_id"]
            )
    return found


def evaluation(**overrides):
    """An evaluation (评选) whose voting opens a day after START and closes two days later."""
    return activity(
        title="2026年度星级党员商户评选",
        type="evaluation",
        theme_tags=[],
        capacity=0,
        audience={"kinds": ["party_members", "staff"], "districts": []},
        evaluation={
            "kind": "star_party_member_merchant",
            "year": 2026,
            "winners": 2,
            "stars": 5,
            "voter_roles": ["party_member", "staff"],
            "voting_opens_at": (START + timedelta(days=1)).isoformat(),
            "voting_closes_at": (START + timedelta(days=3)).isoformat(),
        },
        **overrides,
    )
