"""Inspect and replay a service's dead letters (``alliance dead-letters list|replay``).

Listing takes the messages without acknowledging them and closes the channel, which puts them
back in their queue in order: looking changes nothing. Replaying republishes a message straight to
the queue of the handler it failed in (through the default exchange, so no other subscriber gets
it twice), with its attempt count reset, and removes it from the dead letters only once the broker
has confirmed the republish.
"""

import json
from dataclasses import dataclass

from kombu import Connection
from nameko.amqp.publish import Publisher

from .messaging import ATTEMPTS, DEAD_AT, DEAD_LETTER_ID, ERROR, HANDLER, ORIGINAL_QUEUE, dead_letter_queue


@dataclass(frozen=True)
class DeadLetter:
    id: str
    queue: str
    handler: str
    error: str
    attempts: int
    dead_at: str
    event_type: str | None
    event_id: str | None
    body: str


def _describe(message):
    headers = message.headers or {}
    body = message.body.decode("utf-8", errors="replace") if isinstance(message.body, bytes) else str(message.body)
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = {}
    envelope = envelope if isinstance(envelope, dict) else {}
    return DeadLetter(
        id=headers.get(DEAD_LETTER_ID, ""),
        queue=headers.get(ORIGINAL_QUEUE, ""),
        handler=headers.get(HANDLER, ""),
        error=headers.get(ERROR, ""),
        attempts=int(headers.get(ATTEMPTS, 0)),
        dead_at=headers.get(DEAD_AT, ""),
        event_type=envelope.get("event_type"),
        event_id=envelope.get("event_id"),
        body=body,
    )


def _drain(channel, queue_name, limit):
    while limit is None or limit > 0:
        message = channel.basic_get(queue_name, no_ack=False)
        if message is None:
            return
        yield message
        if limit is not None:
            limit -= 1


def list_dead_letters(amqp_uri, service, limit=None):
    queue = dead_letter_queue(service)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue(channel).declare()
        found = [_describe(channel.message_to_python(m)) for m in _drain(channel, queue.name, limit)]
        channel.close()  # un-acked: every message goes back
    return found


def replay_dead_letters(amqp_uri, service, ids=None):
    """Replay the dead letters with the given ids (all when ``ids`` is None); returns those replayed."""
    wanted = None if ids is None else set(ids)
    queue = dead_letter_queue(service)
    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
    replayed = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue(channel).declare()
        for raw in list(_drain(channel, queue.name, None)):
            message = channel.message_to_python(raw)
            letter = _describe(message)
            if wanted is not None and letter.id not in wanted:
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-alliance-")}
            publisher.publish(
                message.body,
                exchange="",
                routing_key=letter.queue,
                headers=headers,
                content_type=message.content_type or "application/json",
                content_encoding=message.content_encoding or "utf-8",
                message_id=message.properties.get("message_id"),
            )
            message.ack()
            replayed.append(letter)
        channel.close()
    return replayed
