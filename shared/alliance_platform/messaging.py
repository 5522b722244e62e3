"""Broker topology for failures: bounded retries with backoff, then a dead-letter queue.

A handler that raises is neither dropped (nameko's default ack) nor requeued hot. Its message is
republished to ``alliance.retry`` with routing key ``<delay>ms.<queue>``; the delay queue for that
step holds it for its TTL, then dead-letters it to ``alliance.retry.return``, where the handler's
own queue is bound by ``*.<queue>``. After the last delay the message goes to the service's
dead-letter queue, ``alliance.dead-letters.<service>``, with the error and the attempt count in
its headers; an operator lists and replays it with ``alliance dead-letters``.
"""

import uuid
from datetime import UTC, datetime

from kombu import Connection, Exchange, Queue, binding
from nameko.amqp.publish import Publisher

RETRY_EXCHANGE = Exchange("alliance.retry", type="topic", durable=True)
RETRY_RETURN_EXCHANGE = Exchange("alliance.retry.return", type="topic", durable=True)
DEAD_LETTER_EXCHANGE = Exchange("alliance.dead-letters", type="topic", durable=True)

ATTEMPTS = "x-alliance-attempts"
ORIGINAL_QUEUE = "x-alliance-original-queue"
ERROR = "x-alliance-error"
DEAD_AT = "x-alliance-dead-at"
DEAD_LETTER_ID = "x-alliance-dead-letter-id"
HANDLER = "x-alliance-handler"
# Headers the broker or earlier failures added, which must not pile up on a re-published message.
_TRANSIENT_HEADERS = {"x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason"}


def dead_letter_queue(service):
    return Queue(f"alliance.dead-letters.{service}", exchange=DEAD_LETTER_EXCHANGE, routing_key=service, durable=True)


def retry_queue(delay_ms):
    return Queue(
        f"alliance.retry.{delay_ms}ms",
        exchange=RETRY_EXCHANGE,
        routing_key=f"{delay_ms}ms.#",
        durable=True,
        queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": RETRY_RETURN_EXCHANGE.name},
    )


def retry_binding(queue_name):
    """The binding that brings a handler's retried messages back to its own queue only."""
    return binding(RETRY_RETURN_EXCHANGE, routing_key=f"*.{queue_name}")


def retry_delays(config):
    delays = config.get("EVENT_RETRY_DELAYS_MS") or []
    if isinstance(delays, str):
        delays = [int(d) for d in delays.strip("[]").split(",") if d.strip()]
    return [int(d) for d in delays]


def declare_failure_topology(amqp_uri, service, delays):
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        RETRY_EXCHANGE(channel).declare()
        RETRY_RETURN_EXCHANGE(channel).declare()
        for delay in delays:
            retry_queue(delay)(channel).declare()
        dead_letter_queue(service)(channel).declare()


def _republish_headers(message, **extra):
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _TRANSIENT_HEADERS}
    headers.update(extra)
    return headers


class FailureRouter:
    """Sends a failed message to its next retry step or, when retries are spent, to dead letters."""

    def __init__(self, amqp_uri, service, delays):
        self.service = service
        self.delays = delays
        self.dead_letters = dead_letter_queue(service)
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)

    def route(self, message, queue_name, handler, error):
        """Returns ``"retry"`` or ``"dead"``; raises if the broker did not confirm the publish."""
        attempts = int((message.headers or {}).get(ATTEMPTS, 0)) + 1
        if attempts <= len(self.delays):
            delay = self.delays[attempts - 1]
            self._publish(
                message,
                exchange=RETRY_EXCHANGE,
                routing_key=f"{delay}ms.{queue_name}",
                headers=_republish_headers(message, **{ATTEMPTS: attempts, ERROR: error[:1000]}),
            )
            return "retry"
        self.dead_letter(message, queue_name, handler, error, attempts)
        return "dead"

    def dead_letter(self, message, queue_name, handler, error, attempts):
        headers = _republish_headers(
            message,
            **{
                ATTEMPTS: attempts,
                ERROR: error[:4000],
                ORIGINAL_QUEUE: queue_name,
                HANDLER: handler,
                DEAD_AT: datetime.now(UTC).isoformat(),
                DEAD_LETTER_ID: uuid.uuid4().hex,
            },
        )
        self._publish(message, exchange=DEAD_LETTER_EXCHANGE, routing_key=self.service, headers=headers)

    def _publish(self, message, **kwargs):
        self.publisher.publish(
            message.body,
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8",
            message_id=message.properties.get("message_id"),
            **kwargs,
        )
