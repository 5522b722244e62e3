"""Probe services: the smallest services built on the platform, to test its mechanisms alone.

``ProbeService`` records items (each change publishes ``probe.item_recorded`` through the outbox)
and can sleep in the database; ``ProbeConsumer`` handles those events, failing on demand.
"""

import uuid

import eventlet
from marshmallow import Schema, fields, validate

from alliance_contracts import event_contract
from alliance_platform.audit import Audit
from alliance_platform.entrypoints import event_handler, rpc
from alliance_platform.errors import Conflict, NotFound
from alliance_platform.rpc import ServiceRpc
from alliance_platform.service import AllianceService


@event_contract(
    "probe",
    "item_recorded",
    examples=[{"item_id": "item-1", "aggregate": "a-1", "seq": 1}],
)
class ItemRecorded(Schema):
    """A probe item was recorded (test-only contract)."""

    item_id = fields.String(required=True)
    aggregate = fields.String(required=True)
    seq = fields.Integer(required=True, strict=True)


@event_contract(
    "probe",
    "item_noted",
    examples=[{"item_id": "item-1", "aggregate": "a-1", "seq": 2}],
)
class ItemNoted(Schema):
    """A note on a probe item (test-only contract; no probe service consumes it)."""

    item_id = fields.String(required=True)
    aggregate = fields.String(required=True)
    seq = fields.Integer(required=True, strict=True)


class RecordSequence(Schema):
    """Events of one aggregate, in this order, in one transaction: "recorded" or "noted" each."""

    aggregate = fields.String(required=True, validate=validate.Length(min=1, max=60))
    events = fields.List(fields.String(validate=validate.OneOf(["recorded", "noted"])), required=True)


class RecordAny(Schema):
    aggregate = fields.String(load_default="a", validate=validate.Length(max=60))
    sleep = fields.Float(load_default=0, validate=validate.Range(min=0, max=5))
    # Sleep only while the aggregate has no item yet: slow the first time, quick when run again.
    sleep_if_new = fields.Float(load_default=0, validate=validate.Range(min=0, max=5))


class RecordItem(Schema):
    item_id = fields.String(required=True, validate=validate.Length(min=1, max=60))
    aggregate = fields.String(load_default="a")
    seq = fields.Integer(load_default=1)


class ItemRef(Schema):
    item_id = fields.String(required=True)


class ItemOut(Schema):
    """The result of get_item: the item as stored."""

    id = fields.String(required=True)
    aggregate = fields.String(required=True)
    seq = fields.Integer(required=True, strict=True)
    recorded_at = fields.AwareDateTime(required=True)


class Sleep(Schema):
    seconds = fields.Float(required=True, validate=validate.Range(min=0, max=5))


# A probe item is an entity of its own in the audit (``item_id`` names none by default).
ITEMS = Audit(references={"item_id": "item"})


def record_item(session, cmd):
    """The probe's one use case: a row and the event announcing it, in one transaction."""
    session.execute("INSERT INTO probe_items (id, aggregate, seq) VALUES (%(item_id)s, %(aggregate)s, %(seq)s)", cmd)
    session.publish("item_recorded", cmd, aggregate_id=cmd["aggregate"])
    return cmd


def record_sequence(session, cmd):
    """``item_<kind>`` events of one aggregate, seq 1, 2, ...; items ``<aggregate>-<seq>``."""
    for seq, kind in enumerate(cmd["events"], start=1):
        item = {"item_id": f"{cmd['aggregate']}-{seq}", "aggregate": cmd["aggregate"], "seq": seq}
        session.publish(f"item_{kind}", item, aggregate_id=cmd["aggregate"])
    return len(cmd["events"])


class ProbeService(AllianceService):
    name = "probe"

    consumer_rpc = ServiceRpc("probe_consumer")

    @rpc
    def ping(self):
        return "pong"

    @rpc(schema=Sleep)
    def sleep(self, cmd):
        self.db.execute("SELECT pg_sleep(%s)", (cmd["seconds"],))
        return cmd["seconds"]

    @rpc(schema=RecordItem, allow=("staff", "admin", "system"), audit=ITEMS)
    def record_item(self, cmd):
        return record_item(self.db, cmd)

    @rpc(schema=RecordAny, allow=("staff", "admin", "system"), audit=ITEMS)
    def record_any(self, cmd):
        """A command that succeeds every time it runs: an item with a new id (sleeping first, in the
        transaction, if asked to)."""
        if cmd["sleep"]:
            self.db.execute("SELECT pg_sleep(%s)", (cmd["sleep"],))
        if cmd["sleep_if_new"] and not self.db.fetchone(
            "SELECT 1 FROM probe_items WHERE aggregate = %s", (cmd["aggregate"],)
        ):
            self.db.execute("SELECT pg_sleep(%s)", (cmd["sleep_if_new"],))
        item = {"item_id": uuid.uuid4().hex, "aggregate": cmd["aggregate"], "seq": 1}
        return record_item(self.db, item)

    @rpc(schema=RecordSequence)
    def record_sequence(self, cmd):
        return record_sequence(self.db, cmd)

    @rpc(schema=RecordItem)
    def record_item_then_refuse(self, cmd):
        record_item(self.db, cmd)
        raise Conflict("refused after writing: the write must not survive")

    @rpc(schema=ItemRef, result=ItemOut, read_only=True)
    def get_item(self, cmd):
        row = self.db.fetchone(
            "SELECT id, aggregate, seq, created_at AS recorded_at FROM probe_items WHERE id = %s", (cmd["item_id"],)
        )
        if row is None:
            raise NotFound(f"no item {cmd['item_id']}")
        return row

    @rpc(schema=ItemRef, result=ItemOut, read_only=True)
    def get_item_badly(self, cmd):
        """A method whose answer breaks its own result schema (seq is no integer): a bug to catch."""
        return {"id": cmd["item_id"], "aggregate": "a", "seq": "one", "recorded_at": "2026-12-01T00:00:00+00:00"}

    @rpc(schema=RecordItem, read_only=True)
    def record_item_read_only(self, cmd):
        """A read-only method that tries to publish: a bug the platform must refuse."""
        return record_item(self.db, cmd)

    @rpc
    def whoami_downstream(self):
        """Calls the consumer service, which reports the identity it saw."""
        return self.consumer_rpc.whoami()

    @rpc(schema=Sleep)
    def call_slow_downstream(self, cmd):
        return self.consumer_rpc.slow(seconds=cmd["seconds"])


class ProbeConsumer(AllianceService):
    name = "probe_consumer"

    @event_handler("probe", "item_recorded", audit=ITEMS)
    def handle_probe_item_recorded(self, event):
        item = event.payload
        if self.db.fetchone("SELECT 1 FROM probe_failures WHERE item_id = %s", (item["item_id"],)):
            raise RuntimeError(f"item {item['item_id']} is marked to fail")
        self.db.execute(
            "INSERT INTO probe_effects (item_id, aggregate, seq, event_id) VALUES (%s, %s, %s, %s)",
            (item["item_id"], item["aggregate"], item["seq"], event.event_id),
        )

    @rpc
    def whoami(self):
        identity = self.call.identity
        return {"kind": identity.kind, "subject": identity.subject, "correlation_id": self.call.correlation_id}

    @rpc(schema=Sleep)
    def slow(self, cmd):
        eventlet.sleep(cmd["seconds"])
        return "late"


class TicketsWatcher(AllianceService):
    """Consumes the tickets service's events and records each effect once: a stand-in for any
    downstream consumer in the drills."""

    name = "tickets_watcher"

    def _record(self, event):
        self.db.execute(
            "INSERT INTO probe_effects (item_id, aggregate, seq, event_id) VALUES (%s, %s, 0, %s)",
            (event.payload["reference"], event.event_type, event.event_id),
        )

    @event_handler("tickets", "ticket_submitted")
    def handle_tickets_ticket_submitted(self, event):
        self._record(event)

    @event_handler("tickets", "ticket_assigned")
    def handle_tickets_ticket_assigned(self, event):
        self._record(event)
