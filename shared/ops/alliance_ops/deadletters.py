"""Inspect and replay a service's dead letters (``alliance dead-letters list|replay``).

Listing takes the messages without acknowledging them and closes the channel, which puts them
back in their queue in order: looking changes nothing. Replaying republishes a message straight to
the queue of the handler it failed in (through the default exchange, so no other subscriber gets
it twice), with its attempt count reset, and removes it from the dead letters only once the broker
has confirmed the republish. A letter names its queue in its headers (the platform's failures) or
in ``x-death`` (the broker's delivery limit); a letter naming a queue of another service than the
one whose dead letters it sits in is refused, never replayed there.
"""

import json
from dataclasses import dataclass

from amqp.exceptions import NotFound as QueueNotFound
from kombu import Connection
from nameko.amqp.publish import Publisher

from alliance_platform.messaging import (
    ATTEMPTS,
    DEAD_AT,
    DEAD_LETTER_ID,
    ERROR,
    HANDLER,
    ORIGINAL_QUEUE,
    dead_letter_queue,
)


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
    deaths = headers.get("x-death") or [{}]
    return DeadLetter(
        id=headers.get(DEAD_LETTER_ID) or str(message.properties.get("message_id") or ""),
        queue=headers.get(ORIGINAL_QUEUE) or deaths[0].get("queue", ""),
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


def _exists(channel, queue):
    try:
        queue(channel).queue_declare(passive=True)
    except QueueNotFound:
        return False
    return True


def list_dead_letters(amqp_uri, service, limit=None):
    queue = dead_letter_queue(service)
    with Connection(amqp_uri) as conn:
        if not _exists(conn.channel(), queue):
            return []  # a service that never failed a message has no dead-letter queue yet
        channel = conn.channel()
        found = [_describe(channel.message_to_python(m)) for m in _drain(channel, queue.name, limit)]
        channel.close()  # un-acked: every message goes back
    return found


def _belongs_to(queue_name, service):
    return queue_name.startswith("evt-") and f"--{service}." in queue_name


def replay_dead_letters(amqp_uri, service, ids=None):
    """Replay the dead letters with the given ids (all when ``ids`` is None); returns those replayed."""
    wanted = None if ids is None else set(ids)
    queue = dead_letter_queue(service)
    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
    replayed = []
    with Connection(amqp_uri) as conn:
        if not _exists(conn.channel(), queue):
            return []
        channel = conn.channel()
        for raw in list(_drain(channel, queue.name, None)):
            message = channel.message_to_python(raw)
            letter = _describe(message)
            if wanted is not None and letter.id not in wanted:
                continue
            if not _belongs_to(letter.queue, service):
                raise ValueError(f"dead letter {letter.id} names queue {letter.queue!r}, not one of {service}'s")
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
