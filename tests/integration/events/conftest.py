"""The events service started on a fixed clock through the shared harness, the people who organise
and join activities, and a registry with merchants for the evaluations that ask it."""

import dataclasses
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alliance_platform.config import service_class
from alliance_registry.domain.identifiers import make_credit_code
from tests.support.harness import ServiceHarness

# Monday 1 June 2026, 09:00 in Dezhou.
START = datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class EventsHarness(ServiceHarness):
    """The shared harness, with the callers of activities named as the tests speak of them."""

    def organiser(self, district="outlets", person_id=None):
        return self.staff(district, person_id=person_id)

    def member(self, person_id=None, district="outlets", roles=("party_member",)):
        return self.staff(district, roles=roles, person_id=person_id)

    def merchant(self, merchant_id=None, district="outlets", person_id=None):
        return super().merchant(merchant_id or str(uuid.uuid4()), district, person_id)


@pytest.fixture
def events(service_harness):
    """The events service, its schedule running every 50 ms, its clock at START."""
    started = service_harness("events", START, ACTIVITY_TIMER_INTERVAL=0.05)
    return EventsHarness(**{f.name: getattr(started, f.name) for f in dataclasses.fields(started)})


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


# --- branch life (三会一课) ---


@pytest.fixture
def branch_life(service_harness, registry):
    """The events service counting meetings from START (1 June 2026), its rhythm timer every 50 ms."""
    started = service_harness(
        "events",
        START,
        BRANCH_RHYTHM_SINCE="2026-06-01",
        BRANCH_RHYTHM_TIMER_INTERVAL=0.05,
        ACTIVITY_TIMER_INTERVAL=3600,
    )
    return EventsHarness(**{f.name: getattr(started, f.name) for f in dataclasses.fields(started)})


@pytest.fixture
def outlets_members(registry, client):
    """Three Party members of the Outlets branch in the running registry."""
    ids = []
    with client() as admin:
        for n in range(3):
            person = admin.registry.register_person(name=f"党员{n}", mobile=f"1381234{n:04d}", district_id="outlets")
            admin.registry.register_party_member(
                person_id=person["person_id"], branch_id="branch_outlets", joined_on="2012-07-01"
            )
            ids.append(person["person_id"])
    return sorted(ids)
