"""The notifications service's use cases on a real database, without nameko or the broker: each
call loads its arguments through the input schema of the RPC method of the same name, as that
entrypoint does, and runs in a transaction of its own at a clock the test moves. Events arrive as
a handler receives them (a contract's documented example, parsed by its contract).

The registry is another service, reached over the broker in production: here ``Directory`` stands
in for its ``resolve_audience`` (the contacts it holds, a page at a time, the ids it does not
know, an outage on demand). The RPC-level tests use the real registry.
"""

import dataclasses
import itertools
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alliance_contracts import build_envelope, get_contract, parse_event
from alliance_contracts.notifications import CHANNELS
from alliance_notifications import use_cases
from alliance_notifications.channels import providers
from alliance_notifications.service import SUBSCRIPTIONS, NotificationsService
from alliance_notifications.settings import Settings
from alliance_platform.config import load_config
from alliance_platform.errors import ServiceUnavailable, ValidationError
from tests.support.harness import identity
from tests.support.helpers import query

SH = ZoneInfo("Asia/Shanghai")
# Tuesday 2 June 2026, 10:00 in Dezhou: within trading hours.
START = datetime(2026, 6, 2, 10, 0, tzinfo=SH)
SYSTEM = identity("system", ["system"], subject="crm")
OPERATOR = identity("staff", ["operator"], ["*"], subject="ops-1")
# Everything a command could write: a refused one leaves all of it as it was.
TABLES = ("notifications", "deliveries", "delivery_attempts", "preferences", "rate_buckets", "escalations", "outbox")
UNREACHABLE = "http://127.0.0.1:9"  # channels configured, never sent to (the sender tests name a sink)


def config(**overrides):
    """The service's config with every channel configured and rate limits out of the way."""
    unlimited = {channel: {"per_second": 1000, "burst": 1000} for channel in CHANNELS}
    return {
        **load_config("notifications"),
        "SMS_GATEWAY_URL": f"{UNREACHABLE}/sms",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": 9,
        "WECOM_ROBOTS": {"wholesale_city": f"{UNREACHABLE}/wecom", "default": f"{UNREACHABLE}/wecom-default"},
        "DINGTALK_ROBOTS": {"alliance": {"url": f"{UNREACHABLE}/dingtalk"}},
        "RATE_LIMITS": unlimited,
        "SEND_TIMEOUT": 1,
        **overrides,
    }


SETTINGS = Settings.from_config(config(), set(SUBSCRIPTIONS))


def on_sinks(http, **changes):
    """The settings with every sending channel on the HTTP sink ``http`` (e-mail stays
    unreachable), and ``changes`` (buckets, backoff...)."""
    sinks = config(
        SMS_GATEWAY_URL=http.url("/sms"),
        WECOM_ROBOTS={"wholesale_city": http.url("/wecom/wholesale_city"), "default": http.url("/wecom/default")},
        DINGTALK_ROBOTS={"alliance": {"url": http.url("/dingtalk/alliance")}},
    )
    return dataclasses.replace(SETTINGS, providers=providers(sinks), **changes)


def staff(subject=None, district="wholesale_city", roles=("staff",)):
    return identity("staff", roles, [district], subject=subject or str(uuid.uuid4()))


def shop(merchant_id, subject=None):
    return identity("merchant", ["merchant"], ["wholesale_city"], subject=subject or str(uuid.uuid4()),
                    merchant_id=merchant_id)  # fmt: skip


_mobiles = itertools.count(1)


class Directory:
    """A stand-in for the registry's ``resolve_audience(query, cursor)``: the merchants and people
    it holds, ``page_size`` contacts a page, ids it does not know listed as unknown. ``down`` makes
    it fail as an unreachable service; ``refusing`` as a registry that rejects the query."""

    def __init__(self, page_size=1000):
        self.page_size = page_size
        self.contacts = []
        self.asked = []  # (query, cursor) of every call
        self.down = None  # after how many more calls it stops answering (0: at once)
        self.refusing = False

    def merchant(self, district="wholesale_city", language=None, mobile="auto"):
        return self._add("merchant", district, language, mobile, roles=(), teams=())

    def person(self, district="wholesale_city", language=None, mobile="auto", roles=("staff",), teams=()):
        return self._add("person", district, language, mobile, roles, teams)

    def _add(self, kind, district, language, mobile, roles, teams):
        contact = {
            "kind": kind,
            "id": str(uuid.uuid4()),
            "mobile": f"139{next(_mobiles):08d}" if mobile == "auto" else mobile,
            "language": language,
            "district_id": district,
            "roles": tuple(roles),
            "teams": tuple(teams),
        }
        self.contacts.append(contact)
        return contact["id"]

    def __call__(self, query, cursor):
        self.asked.append((query, cursor))
        if self.down is not None:
            if self.down == 0:
                raise ServiceUnavailable("registry: no answer")
            self.down -= 1
        if self.refusing:
            raise ValidationError("invalid query", {"role": ["no such role"]})
        unknown = []
        if "merchant_ids" in query or "person_ids" in query:
            kind = "merchant" if "merchant_ids" in query else "person"
            ids = set(query[f"{kind}_ids"])
            found = [c for c in self.contacts if c["kind"] == kind and c["id"] in ids]
            unknown = sorted(ids - {c["id"] for c in found})
        elif "districts" in query:
            found = [c for c in self.contacts if c["kind"] == "merchant" and c["district_id"] in query["districts"]]
        elif "team" in query:
            found = [c for c in self.contacts if query["team"] in c["teams"]]
        else:
            found = [c for c in self.contacts if query["role"] in c["roles"]]
        start = int(cursor or 0)
        end = start + self.page_size
        page = [{k: c[k] for k in ("kind", "id", "mobile", "language", "district_id")} for c in found[start:end]]
        return {"contacts": page, "next_cursor": str(end) if end < len(found) else None, "unknown_ids": unknown}


class Notifications:
    """The notifications service's use cases on one fresh database."""

    def __init__(self, use_case):
        self._use_case = use_case
        self.now = START
        self.settings = SETTINGS
        self.registry = Directory()

    def call(self, function, caller, **arguments):
        """``function(ctx, cmd)`` for ``caller`` now, ``cmd`` loaded from ``arguments`` by the input
        schema of the RPC method ``function`` is named after (``send`` is given the registry)."""
        cmd = getattr(NotificationsService, function.__name__).rpc_schema.load(arguments)
        ports = {"registry": self.registry} if function is use_cases.send else {}
        with self._use_case("notifications", caller=caller, now=self.now, settings=self.settings) as ctx:
            return function(ctx, cmd, **ports)

    def notify(self, source, event_type, example=0, event_id=None, **payload):
        """The event handler's use case for ``source.event_type``: the contract's documented example
        ``example`` with ``payload`` over it, as a handler receives it."""
        contract = get_contract(source, event_type)
        event = parse_event(
            build_envelope(
                source=source,
                event_type=event_type,
                version=contract.version,
                payload={**contract.schema.load(contract.examples[example]), **payload},
                event_id=event_id or uuid.uuid4().hex,
                occurred_at=self.now,
                correlation_id="use-case-test",
                aggregate_id="test",
                actor="system:test",
            )
        )
        with self._use_case("notifications", caller=None, now=self.now, settings=self.settings) as ctx:
            return use_cases.notify(ctx, event, self.registry)

    def tick(self, function, *ports):
        """A timer's job, as the service runs it: nobody calls."""
        with self._use_case("notifications", caller=None, now=self.now, settings=self.settings) as ctx:
            return function(ctx, *ports)

    def advance(self, **delta):
        self.now += timedelta(**delta)

    # --- what it left ---------------------------------------------------------------------------

    def query(self, sql, params=None):
        return query(self._use_case.database("notifications"), sql, params)

    def deliveries(self, where="true", params=None):
        return self.query(
            "SELECT d.*, n.rule, n.source FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
            f" WHERE {where} ORDER BY d.id",
            params,
        )

    def notifications(self):
        return self.query("SELECT * FROM notifications ORDER BY id")

    def payloads(self, event_type):
        rows = self.query("SELECT body::jsonb AS body FROM outbox WHERE event_type = %s ORDER BY id", (event_type,))
        return [row["body"]["payload"] for row in rows]

    def snapshot(self):
        tables = ", ".join(
            f"(SELECT array_agg(t::text ORDER BY t::text) FROM {table} t) AS {table}" for table in TABLES
        )
        return self.query(f"SELECT {tables}")[0]

    def refused(self, error, function, caller, **arguments):
        """Call, expect ``error``, and check that nothing changed; the error."""
        before = self.snapshot()
        with pytest.raises(error) as caught:
            self.call(function, caller, **arguments)
        assert self.snapshot() == before, f"{function.__name__} refused with {caught.value!r} but changed the data"
        return caught.value


@pytest.fixture
def post(use_case):
    return Notifications(use_case)
