"""The tickets service's use cases on a real database, without nameko or the broker: each call
loads its arguments through the input schema of the RPC method of the same name, as that
entrypoint does, and runs in a transaction of its own at a clock the test moves."""

import uuid
from datetime import timedelta

import pytest

from alliance_platform.config import load_config
from alliance_tickets import use_cases
from alliance_tickets.service import TicketsService
from alliance_tickets.settings import Settings
from tests.integration.tickets.conftest import START, demand  # noqa: F401  (the same samples)
from tests.support.harness import identity
from tests.support.helpers import query

SETTINGS = Settings.from_config(load_config("tickets"))
ADMIN = identity("staff", ["admin"], ["*"], subject="admin")
# Everything a command could write: a refused one leaves all of it as it was.
TABLES = ("tickets", "timeline", "reference_counters", "outbox", "follow_up_calls", "supervisions", "custody_items")


def staff(district="wholesale_city", subject=None, roles=("staff",)):
    return identity("staff", roles, [district], subject=subject or f"staff-{uuid.uuid4().hex[:8]}")


def shop(merchant_id, district="wholesale_city"):
    return identity("merchant", ["merchant"], [district], subject=f"owner-{merchant_id[:8]}", merchant_id=merchant_id)


class Tickets:
    """The tickets service's use cases on one fresh database."""

    def __init__(self, use_case, settings=SETTINGS):
        self._use_case = use_case
        self.now = START
        self.settings = settings  # a test may run the use cases under other rules

    def call(self, function, caller, **arguments):
        """``function(ctx, cmd)`` for ``caller`` now, ``cmd`` loaded from ``arguments`` by the input
        schema of the RPC method ``function`` is named after."""
        cmd = getattr(TicketsService, function.__name__).rpc_schema.load(arguments)
        with self._use_case("tickets", caller=caller, now=self.now, settings=self.settings) as ctx:
            return function(ctx, cmd)

    def tick(self, function):
        """A timer's job, as the service runs it: nobody calls."""
        with self._use_case("tickets", caller=None, now=self.now, settings=self.settings) as ctx:
            return function(ctx)

    def learn(self, function, fact):
        """An event handler's use case: the service learns ``fact`` (an event's payload)."""
        with self._use_case("tickets", caller=None, now=self.now, settings=self.settings) as ctx:
            function(ctx, fact)

    def advance(self, **delta):
        self.now += timedelta(**delta)

    # --- the registry's facts, as its events bring them -------------------------------------

    def merchant(self, district="wholesale_city", status="active"):
        merchant_id = str(uuid.uuid4())
        fact = {"merchant_id": merchant_id, "shop_name": "鑫盛五金", "district_id": district, "status": status}
        self.learn(use_cases.merchant_registered, fact)
        return merchant_id

    def person(self, roles=("staff",), district="wholesale_city", skills=(), name="张三"):
        person_id = str(uuid.uuid4())
        fact = {
            "person_id": person_id,
            "name": name,
            "district_id": district,
            "roles": list(roles),
            "skills": list(skills),
            "version": 1,
        }
        self.learn(use_cases.person_changed, fact)
        return person_id

    # --- what the use cases left --------------------------------------------------------------

    def query(self, sql, params=None):
        return query(self._use_case.database("tickets"), sql, params)

    def row(self, ticket_id):
        return self.query("SELECT * FROM tickets WHERE id = %s", (str(ticket_id),))[0]

    def timeline(self, ticket_id):
        return self.query("SELECT * FROM timeline WHERE ticket_id = %s ORDER BY id", (str(ticket_id),))

    def payloads(self, event_type):
        rows = self.query("SELECT body::jsonb AS body FROM outbox WHERE event_type = %s ORDER BY id", (event_type,))
        return [row["body"]["payload"] for row in rows]

    def event_types(self):
        return [row["event_type"] for row in self.query("SELECT event_type FROM outbox ORDER BY id")]

    def snapshot(self):
        return {table: self.query(f"SELECT t::text AS row FROM {table} t ORDER BY 1") for table in TABLES}

    def refused(self, error, function, caller, **arguments):
        """Call, expect ``error``, and check that nothing changed; the error."""
        before = self.snapshot()
        with pytest.raises(error) as caught:
            self.call(function, caller, **arguments)
        assert self.snapshot() == before, f"{function.__name__} refused with {caught.value!r} but changed the data"
        return caught.value

    # --- a ticket on its way ------------------------------------------------------------------

    def submitted(self, merchant_id, **overrides):
        """A demand of ``merchant_id``'s shop, submitted by the merchant: its row."""
        return self.call(use_cases.submit_ticket, shop(merchant_id), **demand(merchant_id, **overrides))

    def in_progress(self, merchant_id, owner, **overrides):
        """A demand accepted and started by ``owner`` (an identity): its row."""
        ticket = self.submitted(merchant_id, **overrides)
        self.call(use_cases.accept_ticket, owner, ticket_id=str(ticket["id"]))
        return self.call(use_cases.start_ticket, owner, ticket_id=str(ticket["id"]))

    def resolved(self, merchant_id, owner, **overrides):
        ticket = self.in_progress(merchant_id, owner, **overrides)
        return self.call(use_cases.resolve_ticket, owner, ticket_id=str(ticket["id"]), resolution="已办结")


@pytest.fixture
def tickets(use_case):
    return Tickets(use_case)
