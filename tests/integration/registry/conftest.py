"""Fixtures for the registry's integration tests: a started registry with a movable clock, a tap
on its events, tokens for each kind of caller, and small builders for merchants and people."""

import itertools

import pytest
from kombu import Connection, Exchange, Queue

from alliance_platform.clock import ControlledTime
from alliance_platform.config import service_class
from alliance_registry.identifiers import make_credit_code, make_id_card
from tests.support.helpers import query

_serial = itertools.count(1)


@pytest.fixture
def clock_file(tmp_path):
    return tmp_path / "clock-offset"


@pytest.fixture
def time_machine(clock_file):
    return ControlledTime(clock_file)


@pytest.fixture
def events(service_config):
    """A queue bound to every registry event, declared before the registry starts: what a
    consumer would receive. ``events.take(n)`` -> [(event_type, payload), ...]."""
    config = service_config("registry")
    connection = Connection(config["AMQP_URI"])
    tap = Queue("registry-test-tap", Exchange("registry.events", type="topic", durable=True), routing_key="#")
    tap(connection.default_channel).declare()
    queue = connection.SimpleQueue(tap)

    class Tap:
        config_ = config

        def take(self, count, timeout=10):
            received = []
            while len(received) < count:
                message = queue.get(timeout=timeout)
                received.append((message.payload["event_type"], message.payload["payload"]))
                message.ack()
            return received

        def nothing_more(self, wait=0.3):
            try:
                message = queue.get(timeout=wait)
            except queue.Empty:
                return True
            raise AssertionError(f"unexpected event {message.payload['event_type']}")

    yield Tap()
    queue.close()
    connection.release()


@pytest.fixture
def registry(container_factory, events, clock_file):
    """The started registry; its config (database, broker) is the one the event tap was bound for."""
    container = container_factory(service_class("registry"), {**events.config_, "CLOCK_OFFSET_FILE": str(clock_file)})
    container.start()
    return container


@pytest.fixture
def db(registry):
    """``db(sql, params)`` -> rows of the registry's database."""
    return lambda sql, params=None: query(registry.config["DATABASE_URL"], sql, params)


@pytest.fixture
def staff_of(tokens):
    """``staff_of("aodele")`` -> token of a staff member scoped to those districts."""
    return lambda *districts, roles=("staff",): tokens.issue(
        f"staff-{'-'.join(districts)}", "staff", roles=list(roles), districts=list(districts)
    )


@pytest.fixture
def merchant_token(tokens):
    return lambda merchant, subject="owner": tokens.issue(
        subject, "merchant", roles=["merchant"], merchant_id=merchant["merchant_id"]
    )


def credit_code():
    return make_credit_code(f"9137140{next(_serial):010d}")


def mobile():
    return f"139{next(_serial):08d}"


def id_card(birth="19800101"):
    return make_id_card(f"371402{birth}{next(_serial) % 1000:03d}")


def merchant_fields(**overrides):
    return {
        "shop_name": "鑫盛五金批发部",
        "district_id": "wholesale_city",
        "category": "五金建材",
        "credit_code": credit_code(),
        **overrides,
    }


def person_fields(**overrides):
    return {"name": "王建国", "mobile": mobile(), "district_id": "wholesale_city", **overrides}
