"""Recording an event in the outbox, inside the unit of work that announces it."""

import json
from datetime import UTC, datetime

import alliance_contracts as contracts

from ..context import current_call, new_id
from . import CHANNEL

INSERT = "INSERT INTO outbox (event_id, event_type, aggregate_id, correlation_id, body) VALUES (%s, %s, %s, %s, %s)"
WAKE_RELAY = f"NOTIFY {CHANNEL}"


def record(session, event_type, payload, *, aggregate_id, version=1):
    """Defer the outbox row of ``event_type`` into ``session``'s transaction; returns its event id.

    The payload is checked against its contract here: an event that breaks it fails the use case
    that publishes it instead of reaching consumers.
    """
    call = current_call()
    body = contracts.build_envelope(
        source=session.source,
        event_type=event_type,
        version=version,
        payload=payload,
        aggregate_id=str(aggregate_id),
        event_id=new_id(),
        occurred_at=datetime.now(UTC),
        correlation_id=call.correlation_id if call else new_id(),
        actor=call.actor if call else None,
    )
    first = not session.events_recorded
    session.defer(
        INSERT,
        (
            body["event_id"],
            event_type,
            body["aggregate_id"],
            body["correlation_id"],
            json.dumps(body, ensure_ascii=False),
        ),
    )
    if first:
        # Delivered at commit (and not at all on rollback): wakes the relay of any instance.
        session.defer(WAKE_RELAY)
    session.events_recorded += 1
    return body["event_id"]
