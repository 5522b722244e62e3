"""One harness for the tests of every service: the service started on its own database and
vhost with a clock the test moves, the people who call it (each with a token of their own), what
it published, and the context of a use case around a real database session.

Service tests (over the broker) take ``service_harness``; use-case tests (no nameko, no broker)
take ``use_case``. A service's own conftest adds what only it needs (seeding its read model,
sample inputs) on top, never a harness of its own.
"""

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from alliance_platform.clock import Clock, ControlledTime
from alliance_platform.config import service_class
from alliance_platform.identity import ALL_DISTRICTS, Identity
from alliance_platform.store import make_pool, transaction
from alliance_platform.usecases import UseCaseContext
from tests.support.helpers import query, wait_until


@dataclass
class ServiceHarness:
    """A started service, its clock, its callers and its outbox."""

    container: object
    time: ControlledTime
    tokens: object
    client: object  # the ``client`` fixture: client(token) -> AllianceClient
    extras: dict = field(default_factory=dict)

    @property
    def database(self):
        return self.container.config["DATABASE_URL"]

    def now(self):
        """What the service's clock reads now."""
        return Clock(self.time.path).now()

    # --- who calls ---------------------------------------------------------------------------

    def as_(self, kind="staff", roles=("staff",), districts=(ALL_DISTRICTS,), subject=None, merchant_id=None):
        """A client acting as that caller (a new subject unless one is given)."""
        subject = subject or (str(uuid.uuid4()) if kind != "system" else "test-system")
        token = self.tokens.issue(subject, kind, roles=list(roles), districts=list(districts), merchant_id=merchant_id)
        return self.client(token)

    def admin(self):
        return self.client()

    def staff(self, district="wholesale_city", roles=("staff",), person_id=None):
        return self.as_("staff", roles, [district], subject=person_id)

    def merchant(self, merchant_id, district="wholesale_city", person_id=None):
        return self.as_("merchant", ["merchant"], [district], subject=person_id, merchant_id=merchant_id)

    def system(self, name="test-system"):
        return self.as_("system", ["system"], subject=name)

    # --- what it published -------------------------------------------------------------------

    def published(self, event_type=None):
        """The envelopes of the events it recorded, in commit order (published or not yet)."""
        rows = query(self.database, "SELECT event_type, body::jsonb AS body FROM outbox ORDER BY id")
        return [r["body"] for r in rows if event_type is None or r["event_type"] == event_type]

    def payloads(self, event_type=None):
        return [body["payload"] for body in self.published(event_type)]

    def wait_published(self, event_type, count=1, timeout=15):
        """Wait until at least ``count`` ``event_type`` events were recorded; returns their payloads."""
        return wait_until(
            lambda: (found := self.payloads(event_type)) and len(found) >= count and found,
            timeout=timeout,
            message=f"{count} {event_type} event(s)",
        )


@pytest.fixture
def service_harness(container_factory, service_config, tokens, client, tmp_path):
    """``service_harness("tickets", start_at, **config)``: the service started on a fresh database
    and vhost, its clock reading ``start_at``; ``harness=`` a service's own subclass of
    ``ServiceHarness`` (its seeding helpers)."""

    def start(name, start_at, cls=None, harness=ServiceHarness, **overrides):
        offset_file = tmp_path / f"clock-offset-{name}"
        time = ControlledTime(offset_file)
        time.set(start_at)
        config = service_config(name, CLOCK_OFFSET_FILE=str(offset_file), **overrides)
        container = container_factory(cls or service_class(name), config)
        container.start()
        return harness(container, time, tokens, client)

    return start


def identity(kind="staff", roles=("staff",), districts=(ALL_DISTRICTS,), subject=None, merchant_id=None):
    """A verified caller as a use case sees it (no token: use-case tests call no entrypoint)."""
    return Identity(
        subject or str(uuid.uuid4()),
        kind,
        roles=frozenset(roles),
        districts=frozenset(districts),
        merchant_id=merchant_id,
    )


@pytest.fixture
def use_case(fresh_database):
    """``with use_case("tickets", caller=..., now=..., settings=...) as ctx:`` — the context of a use
    case around a real transaction on a fresh database of that service (committed when the block
    ends, rolled back if it raises), without nameko or the broker. ``use_case.database(name)`` is
    the URL, to look at what a use case left."""
    databases, pools = {}, {}

    def database(name):
        if name not in databases:
            databases[name] = fresh_database(name)
        return databases[name]

    @contextmanager
    def run(name, caller=None, now=None, settings=None):
        if name not in pools:  # one pool per database for the whole test: a block costs no connect
            pools[name] = make_pool(database(name), max_size=2, name=f"use-case-{name}")
            pools[name].open()
        with transaction(pools[name], name) as session:
            yield UseCaseContext(session, caller, now, settings)

    run.database = database
    yield run
    for pool in pools.values():
        pool.close()
