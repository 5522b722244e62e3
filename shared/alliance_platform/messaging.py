"""Broker topology for failures: bounded retries with backoff, then a dead-letter queue.

A handler that raises is neither dropped (nameko's default ack) nor requeued hot. Its message is
republished to ``alliance.retry`` with routing key ``<delay>ms.<queue>``; the delay queue for that
step holds it for its TTL, then dead-letters it to ``alliance.retry.return``, where the handler's
own queue is bound by ``*.<queue>``. After the last delay the message goes to the service's
dead-letter queue, ``alliance.dead-letters.<service>``, with the error and the attempt count in
its headers; an operator lists and replays it with ``alliance dead-letters``.

The platform declares the type of every queue itself, not the broker's vhost default (which would
make every queue one type): what must survive a node — event handler queues, retry and
dead-letter queues — is a durable *quorum* queue, replicated across a cluster's nodes; what a
caller retries anyway — RPC request and reply queues — is a *classic* transient one, cheaper per
call and recreated on a surviving node when its own goes down (``rpc_queue_arguments``). A handler
queue also carries a delivery limit and dead-letters at least once (``x-dead-letter-strategy``,
RabbitMQ 3.10+, which needs ``x-overflow: reject-publish``): a message whose consumers keep dying
holding it goes to the service's dead letters, and leaves its queue only once they have it.
On an older broker the queues keep what it supports (``QueueFeatures``).

A queue that already exists with other arguments (declared by an earlier release, or by a vhost
whose default type was quorum) cannot be redeclared: the broker refuses with PRECONDITION_FAILED.
``settle_declaration`` then uses it as it is, with a warning (deploy/README.md, "Queue types", says
how to redeclare it).
"""

import copy
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import nameko.amqp.publish
import structlog
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue, binding
from kombu.pools import producers
from nameko.amqp.publish import Publisher
from nameko.constants import DEFAULT_TRANSPORT_OPTIONS

log = structlog.get_logger("alliance.messaging")

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


# A message the broker has handed out this many times without an ack (its consumers died or were
# stopped holding it, again and again) goes to the service's dead letters instead of looping;
# failures inside a handler are retried and dead-lettered by the platform long before.
DELIVERY_LIMIT = 20


def broker_addresses(amqp_uri):
    """The nodes ``AMQP_URI`` names: one URL, or several separated by ``;`` (kombu's failover
    syntax, which nameko passes on as it is): ``amqp://u:p@node-1:5672/v;amqp://u:p@node-2:5672/v``.
    Each is tried in turn when the one in use cannot be reached."""
    return [part.strip() for part in str(amqp_uri).split(";") if part.strip()]


def connect_retries(amqp_uri):
    """``max_retries`` for kombu's ``ensure_connection`` that tries every node once."""
    return max(1, len(broker_addresses(amqp_uri)) - 1)


class QueueFeatures:
    """What the broker supports of the queue arguments the platform asks for."""

    def __init__(self, version):
        self.version = version
        # Quorum queues with message TTL (the retry queues) and at-least-once dead-lettering: 3.10.
        self.modern = version >= (3, 10)

    @classmethod
    def of(cls, connection):
        """From a connected kombu connection's server properties (its ``version``)."""
        raw = connection.connection.server_properties.get("version", b"0")
        raw = raw.decode() if isinstance(raw, bytes) else str(raw)
        parts = []
        for piece in raw.split(".")[:2]:
            digits = "".join(ch for ch in piece if ch.isdigit())
            parts.append(int(digits or 0))
        return cls(tuple(parts + [0] * (2 - len(parts))))

    def quorum(self, arguments):
        arguments = {"x-queue-type": "quorum", **arguments}
        if self.modern and "x-dead-letter-exchange" in arguments:
            arguments.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
        return arguments


MODERN = QueueFeatures((3, 10))


def handler_queue_arguments(service, features=MODERN):
    """An event handler's queue: quorum, delivery-limited into the service's dead letters."""
    return features.quorum(
        {
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
            "x-dead-letter-routing-key": service,
        }
    )


def rpc_queue_arguments():
    """RPC request and reply queues: classic. A call is retried by its caller (with its request id)
    and answered from the stored result when it was done already, so what a queue holds for a few
    seconds is not worth a quorum queue's replication, which measured a third slower per call."""
    return {"x-queue-type": "classic"}


def dead_letter_queue(service, features=MODERN):
    # No delivery limit: listing dead letters reads them and returns them, which counts.
    return Queue(
        f"alliance.dead-letters.{service}",
        exchange=DEAD_LETTER_EXCHANGE,
        routing_key=service,
        durable=True,
        queue_arguments=features.quorum({}),
    )


def retry_queue(delay_ms, features=MODERN):
    arguments = {"x-message-ttl": delay_ms, "x-dead-letter-exchange": RETRY_RETURN_EXCHANGE.name}
    return Queue(
        f"alliance.retry.{delay_ms}ms",
        exchange=RETRY_EXCHANGE,
        routing_key=f"{delay_ms}ms.#",
        durable=True,
        # Before 3.10 a quorum queue has no message TTL: a classic delay queue then.
        queue_arguments=features.quorum(arguments) if features.modern else arguments,
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
        conn.ensure_connection(max_retries=connect_retries(amqp_uri))
        features = QueueFeatures.of(conn)
        channel = conn.default_channel
        RETRY_EXCHANGE(channel).declare()
        RETRY_RETURN_EXCHANGE(channel).declare()
        for delay in delays:
            _declare_or_keep(conn, retry_queue(delay, features))
        _declare_or_keep(conn, dead_letter_queue(service, features))


def _declare_or_keep(conn, queue):
    """Declare ``queue`` (with its bindings) on a channel of its own; True if the broker took the
    declaration, False if the queue exists with other arguments and is kept as it is."""
    channel = conn.channel()
    try:
        queue(channel).declare()
        return True
    except PreconditionFailed as exc:  # the broker closed this channel; the connection lives
        log.warning(
            "queue exists with other arguments than this release declares; used as it is",
            queue=queue.name,
            error=str(exc),
            fix="deploy/README.md, Queue types",
        )
        return False
    finally:
        try:
            channel.close()
        except Exception as exc:  # closed by the broker already
            log.debug("closing a declaration channel failed", error=str(exc))


def settle_declaration(amqp_uri, build):
    """Declare the queues ``build(features)`` returns, as the platform wants them for this broker;
    return them, each one the broker refuses (PRECONDITION_FAILED: it exists with other arguments)
    replaced by a copy kombu will not declare, so that consuming from the existing queue does not
    fail on every (re)connection."""
    settled = []
    with Connection(amqp_uri) as conn:
        conn.ensure_connection(max_retries=connect_retries(amqp_uri))
        for queue in build(QueueFeatures.of(conn)):
            if _declare_or_keep(conn, queue):
                settled.append(queue)
            else:
                kept = copy.copy(queue)
                kept.no_declare = True
                settled.append(kept)
    return settled


_POOL_KEYS = {}  # (uri, confirms, ssl, login method, transport options) -> the kombu Connection naming the pool


@contextmanager
def pooled_producer(amqp_uri, confirms=True, ssl=None, login_method=None, transport_options=None):
    """nameko's ``get_producer``, without building a kombu ``Connection`` for every message: that
    object only names the pool of connections the producer comes from (equal connections share
    one), and making it — parsing the URL, choosing the transport — cost about 0.2 ms of CPU per RPC
    reply here. One is made per set of arguments and kept; the pool is the one nameko's would use."""
    options = {**(DEFAULT_TRANSPORT_OPTIONS if transport_options is None else transport_options)}
    options["confirm_publish"] = confirms
    key = (amqp_uri, confirms, repr(ssl), login_method, repr(sorted(options.items())))
    conn = _POOL_KEYS.get(key)
    if conn is None:
        conn = Connection(amqp_uri, transport_options=options, ssl=ssl, login_method=login_method)
        if len(_POOL_KEYS) < 100:
            _POOL_KEYS[key] = conn
    with producers[conn].acquire(block=True) as producer:
        yield producer


def install_pooled_producer():
    """Every nameko publisher in this process (RPC replies and requests, retries, dead letters)
    takes its producer through ``pooled_producer`` (idempotent)."""
    nameko.amqp.publish.get_producer = pooled_producer


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
