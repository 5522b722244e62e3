"""The notifications service under test, the registry beside it (real, with its own database), a
movable clock shared by both, and real local stand-ins for what lies outside the system: an HTTP
sink for the SMS gateway and the group robots, an SMTP server for e-mail."""

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter

from alliance_contracts import get_contract
from alliance_platform.clock import Clock, ControlledTime
from alliance_platform.config import service_class
from tests.integration.registry.conftest import credit_code, mobile
from tests.support.helpers import query, wait_until
from tests.support.http_sink import HttpSink
from tests.support.smtp_sink import SmtpSink

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
class Post:
    """The notifications service, the registry it asks, and the people who use them."""

    container: object
    registry: object
    database: str
    time: ControlledTime
    tokens: object
    client: object
    http: HttpSink
    smtp: SmtpSink

    # --- the register ---------------------------------------------------------------------------

    def person(self, roles=(), district="wholesale_city", language="zh-CN", phone=None, name="王建国"):
        with self.client() as alliance:
            return alliance.registry.register_person(
                name=name, mobile=phone or mobile(), roles=list(roles), district_id=district, language=language
            )

    def merchant(self, district="wholesale_city", phone="auto", owner_id=None, name="鑫盛五金批发部"):
        with self.client() as alliance:
            return alliance.registry.register_merchant(
                shop_name=name,
                district_id=district,
                category="五金建材",
                credit_code=credit_code(),
                contact_phone=mobile() if phone == "auto" else phone,
                owner_id=owner_id,
            )

    # --- callers --------------------------------------------------------------------------------

    def as_person(self, person_id, roles=("staff",), district="wholesale_city"):
        return self.client(self.tokens.issue(person_id, "staff", roles=list(roles), districts=[district]))

    def as_merchant(self, merchant_id, person_id=None):
        subject = person_id or f"owner-{merchant_id[:8]}"
        return self.client(self.tokens.issue(subject, "merchant", roles=["merchant"], merchant_id=merchant_id))

    def as_operator(self):
        return self.client(self.tokens.issue("ops-1", "staff", roles=["operator"], districts=["*"]))

    def as_system(self, name="crm"):
        return self.client(self.tokens.issue(name, "system", roles=["system"], districts=["*"]))

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

    def advance(self, **delta):
        self.time.advance(**delta)

    # --- what happened --------------------------------------------------------------------------

    def deliveries(self, where="true", params=None):
        return query(
            self.database,
            "SELECT d.*, n.rule, n.source, n.urgency FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
            f" WHERE {where} ORDER BY d.id",
            params,
        )

    def outbox(self, event_type):
        rows = query(
            self.database, "SELECT body::jsonb AS body FROM outbox WHERE event_type = %s ORDER BY id", (event_type,)
        )
        return [row["body"]["payload"] for row in rows]

    def wait_for(self, where, params=None, count=1, message=None):
        """The deliveries matching ``where``, once there are ``count`` of them."""
        return wait_until(
            lambda: (rows := self.deliveries(where, params)) and len(rows) >= count and rows,
            message=message or f"{count} deliveries where {where} {params or ''}",
        )


def config_for(service_config, http, smtp, clock_file, **overrides):
    unlimited = {channel: {"per_second": 1000, "burst": 1000} for channel in ("sms", "email", "wecom", "dingtalk")}
    overrides["RATE_LIMITS"] = {**unlimited, **overrides.get("RATE_LIMITS", {})}
    return service_config(
        "notifications",
        CLOCK_OFFSET_FILE=str(clock_file),
        DISPATCH_INTERVAL=0.05,
        DIGEST_INTERVAL=0.05,
        RESOLVE_INTERVAL=0.05,
        SEND_TIMEOUT=1,
        SMS_GATEWAY_URL=http.url("/sms"),
        SMS_GATEWAY_API_KEY=SMS_KEY,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        WECOM_ROBOTS={"wholesale_city": http.url("/wecom/wholesale_city"), "default": http.url("/wecom/default")},
        DINGTALK_ROBOTS={
            "alliance": {"url": http.url("/dingtalk/alliance?access_token=t0"), "secret": DINGTALK_SECRET}
        },
        **overrides,
    )


@pytest.fixture
def clock_file(tmp_path):
    path = tmp_path / "clock-offset"
    ControlledTime(path).set(START)
    return path


@pytest.fixture
def registry(container_factory, service_config, clock_file):
    container = container_factory(
        service_class("registry"), service_config("registry", CLOCK_OFFSET_FILE=str(clock_file))
    )
    container.start()
    return container


@pytest.fixture
def post_config(service_config, http, smtp, clock_file):
    """``post_config(**overrides)``: the config the ``post`` fixture starts the service with."""
    return lambda **overrides: config_for(service_config, http, smtp, clock_file, **overrides)


@pytest.fixture
def start_post(container_factory, registry, tokens, client, http, smtp, clock_file, post_config):
    """``start_post(**config overrides)`` -> a started ``Post``."""

    def start(**overrides):
        config = post_config(**overrides)
        container = container_factory(service_class("notifications"), config)
        container.start()
        return Post(container, registry, config["DATABASE_URL"], ControlledTime(clock_file), tokens, client, http, smtp)

    return start


@pytest.fixture
def post(start_post):
    return start_post()
