"""Event contracts: the envelope every event travels in, and a versioned schema per payload.

A contract is a marshmallow schema registered with ``@event_contract(source, event_type,
version, examples=[...])`` in the module named after its source service (every module in this
package is loaded). Publishers pass Python
values (datetimes, dates, decimals); ``build_envelope`` dumps them to JSON-ready data and
validates the result, so an event that breaks its contract fails the use case that publishes it
instead of reaching consumers. Consumers receive an ``Event`` whose payload was loaded through
the same schema.
"""

import importlib
import pkgutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

# The version of the whole contract (RPC methods and events) other systems code against. Raise
# the major number for a change that can break a caller (docs/contract/README.md says which).
CONTRACT_VERSION = "1.0.0"


class ContractError(Exception):
    """An event that does not match its contract, or has none. A bug or a poison message."""


@dataclass(frozen=True)
class Contract:
    source: str
    event_type: str
    version: int
    schema: Schema
    examples: tuple
    description: str


CATALOG = {}


def event_contract(source, event_type, version=1, examples=()):
    """Register the decorated schema as the payload of ``source``'s ``event_type`` at ``version``."""

    def register(schema_cls):
        key = (source, event_type, version)
        if key in CATALOG:
            raise ContractError(f"contract {key} is registered twice")
        if not examples:
            raise ContractError(f"contract {key} needs at least one documented example")
        CATALOG[key] = Contract(
            source=source,
            event_type=event_type,
            version=version,
            schema=schema_cls(),
            examples=tuple(examples),
            description=(schema_cls.__doc__ or "").strip(),
        )
        return schema_cls

    return register


def get_contract(source, event_type, version=1):
    try:
        return CATALOG[(source, event_type, version)]
    except KeyError:
        raise ContractError(f"no contract for {source}.{event_type} v{version}") from None


def versions(source, event_type):
    return sorted(v for (s, t, v) in CATALOG if (s, t) == (source, event_type))


class EnvelopeSchema(Schema):
    event_id = fields.String(required=True, validate=validate.Length(min=32, max=36))
    event_type = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1))
    correlation_id = fields.String(required=True, validate=validate.Length(min=1))
    aggregate_id = fields.String(required=True, validate=validate.Length(min=1))
    actor = fields.String(required=True, allow_none=True)
    payload = fields.Dict(required=True)


_envelope = EnvelopeSchema()


def build_envelope(*, source, event_type, version, payload, **meta):
    """A JSON-ready envelope for ``payload``; raises ``ContractError`` if the payload breaks its contract."""
    contract = get_contract(source, event_type, version)
    try:
        data = contract.schema.dump(payload)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ContractError(f"{source}.{event_type} v{version} payload cannot be serialised: {exc}") from exc
    errors = contract.schema.validate(data)
    if errors:
        raise ContractError(f"{source}.{event_type} v{version} payload breaks its contract: {errors}")
    return {
        "event_id": meta["event_id"],
        "event_type": event_type,
        "version": version,
        "occurred_at": meta["occurred_at"].isoformat(),
        "source": source,
        "correlation_id": meta["correlation_id"],
        "aggregate_id": meta["aggregate_id"],
        "actor": meta.get("actor"),
        "payload": data,
    }


@dataclass(frozen=True)
class Event:
    """An event as a handler receives it: envelope fields and the payload loaded by its contract."""

    event_id: str
    event_type: str
    version: int
    occurred_at: datetime
    source: str
    correlation_id: str
    aggregate_id: str
    actor: str | None
    payload: dict


_ENVELOPE_FIELDS = frozenset(EnvelopeSchema._declared_fields)
_OCCURRED_AT = _envelope.fields["occurred_at"]
_NON_EMPTY = ("event_type", "source", "correlation_id", "aggregate_id")


def _plain_envelope(body):
    """The envelope of ``body`` when it is plainly what ``EnvelopeSchema`` takes (exactly its
    fields, each of its type and within its bounds), checked without a schema load; else None, and
    the schema says what is wrong. A consumer's one marshmallow load per event is its payload's."""
    if body.keys() != _ENVELOPE_FIELDS:
        return None
    event_id, version, actor = body["event_id"], body["version"], body["actor"]
    if not (type(event_id) is str and 32 <= len(event_id) <= 36):
        return None
    if not (type(version) is int and version >= 1):
        return None
    if not (actor is None or type(actor) is str) or not isinstance(body["payload"], dict):
        return None
    for name in _NON_EMPTY:
        value = body[name]
        if type(value) is not str or not value:
            return None
    try:
        occurred_at = _OCCURRED_AT.deserialize(body["occurred_at"], "occurred_at", body)
    except SchemaError:
        return None
    return {**body, "occurred_at": occurred_at}


def parse_event(body):
    """Validate a received message body against the envelope and its payload contract."""
    if not isinstance(body, dict):
        raise ContractError(f"event body must be an object, got {type(body).__name__}")
    envelope = _plain_envelope(body)
    if envelope is None:
        try:
            envelope = _envelope.load(body)
        except SchemaError as exc:
            raise ContractError(f"invalid envelope: {exc.messages}") from exc
    contract = get_contract(envelope["source"], envelope["event_type"], envelope["version"])
    try:
        # A tolerant reader: fields a newer publisher added (optional by the rules of a version)
        # are left out, so a publisher can be deployed before its consumers.
        payload = contract.schema.load(envelope["payload"], unknown=EXCLUDE)
    except SchemaError as exc:
        raise ContractError(
            f"{contract.source}.{contract.event_type} v{contract.version} payload is invalid: {exc.messages}"
        ) from exc
    return Event(**{**envelope, "payload": payload})


def example_envelopes(source, event_type):
    """Complete envelopes around every documented example of every version — for tests and docs."""
    out = []
    for version in versions(source, event_type):
        contract = get_contract(source, event_type, version)
        for example in contract.examples:
            out.append(
                {
                    "event_id": uuid.uuid4().hex,
                    "event_type": event_type,
                    "version": version,
                    "occurred_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC).isoformat(),
                    "source": source,
                    "correlation_id": "example",
                    "aggregate_id": "example",
                    "actor": "staff:example",
                    "payload": example,
                }
            )
    return out


# Each module of this package holds one source service's contracts; importing it registers them.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
