"""The notifications service under test (the shared ``service_harness``: its clock, its callers, what
it published), the registry beside it (real, with its own database, on the same clock), and real
local stand-ins for what lies outside the system: an HTTP sink for the SMS gateway and the group
robots, an SMTP server for e-mail."""

import itertools
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter

from alliance_contracts import get_contract
from alliance_contracts.notifications import CHANNELS
from alliance_platform.clock import Clock
from alliance_platform.config import service_class
from tests.support.harness import ServiceHarness
from tests.support.helpers import query, wait_until
from tests.support.http_sink import HttpSink
from tests.support.smtp_sink import SmtpSink
from tests.use_cases.registry.samples import credit_code, mobile

SH = ZoneInfo("Asia/Shanghai")
# Tuesday 2 June 2026, 10:00 in Dezhou: within trading hours, whatever day the tests run.
START = datetime(2026, 6, 2, 10, 0, tzinfo=SH)
SMS_KEY = "test-gateway-key"
DINGTALK_SECRET = "SEC-test-secret"
_events = itertools.count(1)


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    """One SMTP server for the run; tests tell their messages apart by recipient address."""
    with SmtpSink(tmp_path_factory.mktemp("smtp")) as sink:
        yield sink


@pytest.fixture
def http():
    sink = HttpSink()
    yield sink
    sink.close()


@dataclass
class Post(ServiceHarness):
    """The shared harness of the notifications service, and what only its tests need: the registry
    it asks (seeded here), the stand-ins, events published as their services would."""

    registry: object = None
    http: HttpSink = None
    smtp: SmtpSink = None

    @classmethod
    def of(cls, harness, **extra):
        return cls(**{f.name: getattr(harness, f.name) for f in fields(ServiceHarness)}, **extra)

    # --- the register ---------------------------------------------------------------------------

    def register_person(self, roles=(), district="wholesale_city", language="zh-CN", phone=None, name="王建国"):
        with self.admin() as alliance:
            return alliance.registry.register_person(
                name=name, mobile=phone or mobile(), roles=list(roles), district_id=district, language=language
            )

    def register_merchant(self, district="wholesale_city", phone="auto", owner_id=None, name="鑫盛五金批发部"):
        with self.admin() as alliance:
            return alliance.registry.register_merchant(
                shop_name=name,
                district_id=district,
                category="五金建材",
                credit_code=credit_code(),
                contact_phone=mobile() if phone == "auto" else phone,
                owner_id=owner_id,
            )

    def operator(self):
        return self.staff(district="*", roles=["operator"], person_id="ops-1")

    # --- events ---------------------------------------------------------------------------------

    def publish(self, source, event_type, example=0, event_id=None, **payload):
        """Publish ``source.event_type`` as its service would: the contract's documented example
        ``example`` with ``payload`` over it; returns once the handler has run (or re-raises)."""
        body = {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": event_type,
            "version": 1,
            "occurred_at": self.now().isoformat(),
            "source": source,
            "correlation_id": f"test-{next(_events)}",
            "aggregate_id": "test",
            "actor": "system:test",
            "payload": {**get_contract(source, event_type).examples[example], **payload},
        }
        with entrypoint_waiter(self.container, f"handle_{source}_{event_type}", timeout=20) as result:
            with Connection(self.container.config["AMQP_URI"]) as conn:
                conn.Producer().publish(
                    body,
                    exchange=Exchange(f"{source}.events", type="topic", durable=True),
                    routing_key=event_type,
                    serializer="json",
                )
        result.get()
        return body

    def now(self):
        return Clock(self.time.path).now()

    def ticks(self, entrypoint, count=2):
        """Wait until the timer ``entrypoint`` has run ``count`` more times (the first may have
        begun before this call; the later ones began after)."""
        for _ in range(count):
            with entrypoint_waiter(self.container, entrypoint, timeout=15):
                pass

    # --- what happened --------------------------------------------------------------------------

    def deliveries(self, where="true", params=None):
        return query(
            self.database,
            "SELECT d.*, n.rule, n.source, n.urgency FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
            f" WHERE {where} ORDER BY d.id",
            params,
        )

    def wait_for(self, where, params=None, count=1, message=None):
        """The deliveries matching ``where``, once there are ``count`` of them."""
        return wait_until(
            lambda: (rows := self.deliveries(where, params)) and len(rows) >= count and rows,
            message=message or f"{count} deliveries where {where} {params or ''}",
        )


def stand_ins(http, smtp, **overrides):
    """Config of the notifications service under test: fast timers, every channel on a stand-in,
    rate limits out of the way unless a test sets one."""
    unlimited = {channel: {"per_second": 1000, "burst": 1000} for channel in CHANNELS}
    overrides["RATE_LIMITS"] = {**unlimited, **overrides.get("RATE_LIMITS", {})}
    return {
        "DISPATCH_INTERVAL": 0.05,
        "DIGEST_INTERVAL": 0.05,
        "RESOLVE_INTERVAL": 0.05,
        "ESCALATION_INTERVAL": 0.05,
        "SEND_TIMEOUT": 1,
        "SMS_GATEWAY_URL": http.url("/sms"),
        "SMS_GATEWAY_API_KEY": SMS_KEY,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "WECOM_ROBOTS": {"wholesale_city": http.url("/wecom/wholesale_city"), "default": http.url("/wecom/default")},
        "DINGTALK_ROBOTS": {
            "alliance": {"url": http.url("/dingtalk/alliance?access_token=t0"), "secret": DINGTALK_SECRET}
        },
        **overrides,
    }


@pytest.fixture
def beside(container_factory, service_config):
    """``beside(post, "tickets", **config)``: another service started on ``post``'s clock."""

    def start(post, name, **overrides):
        config = service_config(name, CLOCK_OFFSET_FILE=str(post.time.path), **overrides)
        container = container_factory(service_class(name), config)
        container.start()
        return container

    return start


@pytest.fixture
def start_post(service_harness, beside, http, smtp):
    """``start_post(**config overrides)`` -> a started ``Post``, the registry beside it."""

    def start(**overrides):
        harness = service_harness("notifications", START, **stand_ins(http, smtp, **overrides))
        return Post.of(harness, registry=beside(harness, "registry"), http=http, smtp=smtp)

    return start


@pytest.fixture
def post(start_post):
    return start_post()
