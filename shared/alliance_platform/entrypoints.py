"""The platform's entrypoints: ``rpc``, ``event_handler`` and ``timer``.

Each one settles the worker's transaction *before* the outside world hears the outcome: nameko
calls an entrypoint's ``handle_result`` (which sends the RPC reply or acks the message) before
the dependencies' ``worker_result``, so committing there would let a caller see success for a
change that then failed to commit.

- ``rpc(schema=..., allow=...)``: the caller's signed identity is verified, its roles checked
  against ``allow``, and the arguments loaded by the marshmallow ``schema``; the method receives
  the loaded data. Every refusal is a typed error from ``errors.py`` and nothing is written. A
  command's answer is stored with its request id in the same transaction — the caller's own
  ``request_id`` (an idempotency key kept across its retries) or else the message's — so a retry or
  a request the broker redelivers is answered again, not carried out twice (``Command`` below).
- ``event_handler(source, event_type)``: the message is checked against its event contract, the
  event id is claimed in the processed_events table in the same transaction as the handler's effect (a
  redelivery has no second effect), and a failing handler is retried with backoff, then
  dead-lettered (``messaging.py``). The claim rides with the handler's first statement (no round
  trip of its own), and a duplicate fails there or at the commit and is skipped; a message the
  broker flags redelivered is claimed before the handler runs.
- ``timer(interval)``: nameko's timer, with the same transaction settlement; the interval may
  name a config key. Every instance of a service runs its timers: their use cases must be safe to
  run side by side (``FOR UPDATE SKIP LOCKED``, sent-once flags).

They rely on the two dependencies every service inherits from ``AllianceService``: ``call``
(``context.CallContext``) and ``db`` (``db.Database``).
"""

import functools
import hashlib
import sys
import time
import traceback
from contextlib import contextmanager
from functools import partial

import kombu
import kombu.serialization
import psycopg
import structlog
from amqp.exceptions import RecoverableConnectionError
from kombu import Queue, binding
from kombu.utils import json as kombu_json
from marshmallow import ValidationError as SchemaError
from nameko import events as nameko_events
from nameko import rpc as nameko_rpc
from nameko import timer as nameko_timer
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    DEFAULT_HEARTBEAT,
    DEFAULT_TRANSPORT_OPTIONS,
    HEARTBEAT_CONFIG_KEY,
    LOGIN_METHOD_CONFIG_KEY,
    TRANSPORT_OPTIONS_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled, MethodNotFound
from nameko.extensions import SharedExtension
from nameko.messaging import HEADER_PREFIX, QueueConsumer, QueueConsumerStopped

from alliance_contracts import ContractError, parse_event, versions

from . import audit as auditing
from . import idempotency
from .bounds import MAX_EVENT_BYTES, MAX_REQUEST_BYTES, apply_defaults
from .context import CORRELATION_KEY, IDEMPOTENCY_KEY, REDELIVERED_KEY, REQUEST_KEY
from .errors import AllianceError, Conflict, ValidationError
from .messaging import (
    FailureRouter,
    declare_failure_topology,
    handler_queue_arguments,
    install_pooled_producer,
    retry_binding,
    retry_delays,
    rpc_queue_arguments,
    settle_declaration,
)
from .metrics import metrics_of
from .routes import parse_routes
from .store import Database, translate_db_error

log = structlog.get_logger("alliance.entrypoints")

install_pooled_producer()  # replies and every other nameko publish of a platform process


def _settle(container, worker_ctx, exc_info):
    """Commit or roll back the worker's transaction; returns the outcome the caller should see."""
    try:
        for dependency in container.dependencies:
            if isinstance(dependency, Database):
                exc_info = dependency.finalize(worker_ctx, exc_info)
    except Exception:
        exc_info = sys.exc_info()
    return exc_info


def _describe(exc_info):
    exc = exc_info[1]
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class _ReplyPublisher(nameko_rpc.Publisher):
    # A reply goes to the caller's own transient queue: a publisher confirm would make the worker
    # wait one more broker round trip for a guarantee a transient queue cannot keep anyway (a
    # broker that restarts loses it, confirmed or not), and a lost reply is what the stored answer
    # of a redelivered command is for.
    use_confirms = False


class _Responder(nameko_rpc.Responder):
    """nameko's responder, which answers in the request's own encoding — and raised (killing the
    service) for a request that named none or one it does not know. It answers in JSON then."""

    publisher_cls = _ReplyPublisher

    def send_response(self, result, exc_info):
        properties = self.message.properties
        if kombu.serialization.registry.type_to_name.get(properties.get("content_type")) is None:
            properties["content_type"] = "application/json"
        return super().send_response(result, exc_info)


class Unreadable:
    """The body of a message that cannot be parsed: too large to read, or not JSON. The entrypoint
    refuses it with a typed error instead of handling it."""

    def __init__(self, error):
        self.error = error

    @classmethod
    def oversized(cls, size, limit):
        return cls(
            ValidationError(
                "request too large",
                {"_message": [f"{size} bytes; this method takes at most {limit}"]},
            )
        )

    @classmethod
    def undecodable(cls, message, exc):
        content_type = message.properties.get("content_type") or "none"
        return cls(
            ValidationError(
                "the request body must be JSON",
                {"_message": [f"content type {content_type}, body not JSON: {type(exc).__name__}: {exc}"]},
            )
        )


class ConsumingConnection(kombu.Connection):
    """A queue consumer's connection, never re-established behind its consumer's back.

    kombu re-establishes a lost connection on the next use of ``Connection.connection`` — which
    ``drain_events`` and ``heartbeat_check`` use — silently, with no channel and no consumers on
    the new one. A worker's ack failing on the broken socket marks the connection lost before the
    consumer's own read notices (seen when a cluster node was killed under load: notifications'
    consumer drained an empty new connection for ever, its queues without consumers, its RPC
    replies unroutable). Once established, this one raises a recoverable connection error
    instead, and the consumer reconnects the whole way: queues declared, consumers registered."""

    established = False

    def _ensure_connection(self, *args, **kwargs):
        if self.established and not self._closed and not self.connected:
            raise RecoverableConnectionError("the connection the consumers were registered on was lost")
        return super()._ensure_connection(*args, **kwargs)


class SizedQueueConsumer(QueueConsumer):
    """nameko's queue consumer, measuring each message before kombu decodes its body: a message
    over its limit reaches its entrypoint as ``Oversized``, never parsed. It also gives up
    reconnecting once it is asked to stop: nameko's keeps retrying a broker that is down (up to 30 s
    apart, for ever), so a service stopped during an outage never finished stopping. Its
    connection is a ``ConsumingConnection``: a lost one is always replaced whole."""

    @property
    def connection(self):
        # nameko's, as a ConsumingConnection (kombu's ConsumerMixin clones it for every attempt)
        config = self.container.config
        return ConsumingConnection(
            self.amqp_uri,
            transport_options=config.get(TRANSPORT_OPTIONS_CONFIG_KEY, DEFAULT_TRANSPORT_OPTIONS),
            heartbeat=config.get(HEARTBEAT_CONFIG_KEY, DEFAULT_HEARTBEAT),
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )

    @contextmanager
    def establish_connection(self):
        def give_up_when_stopping():
            # Called every second while the broker cannot be reached. Entrypoints that stop wait
            # for their consumer to be cancelled, which nameko does only on a live connection:
            # with none, there is nothing to cancel, so they are let go at once.
            pending, self._pending_remove_providers = self._pending_remove_providers, {}
            for provider, removed in pending.items():
                self._consumers.pop(provider, None)
                removed.send()
            if pending and not self._consumers:
                self.should_stop = True
            if self.should_stop:
                raise QueueConsumerStopped("stopped while the broker could not be reached")

        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries, callback=give_up_when_stopping)
            conn.established = True
            yield conn

    def ack_message(self, message):
        with _settle_quietly("ack"):
            super().ack_message(message)

    def requeue_message(self, message):
        with _settle_quietly("requeue"):
            super().requeue_message(message)

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.callbacks = []
            consumer.on_message = partial(self._measure, provider)
        return consumers

    def _measure(self, provider, message):
        limit = _message_limit(provider, message)
        size = len(message.body or b"")
        if size > limit:
            body = Unreadable.oversized(size, limit)
        else:
            try:
                body = message.decode()
            except Exception as exc:  # not JSON, or a content type nobody accepts
                if isinstance(provider, nameko_rpc.ReplyListener):
                    self.on_decode_error(message, exc)  # a reply to our own call: kombu's handling
                    return
                body = Unreadable.undecodable(message, exc)
        self.handle_message(provider, body, message)


@contextmanager
def suppress_broker_errors():
    try:
        yield
    except Exception as exc:  # the connection is gone: the broker gives the message out again
        log.warning("could not settle a message with the broker", error=str(exc))


@contextmanager
def _settle_quietly(what):
    """nameko lets an ack or a requeue on a connection that just broke (a broker node lost: the
    socket reset, the pipe broken) raise, and an exception there kills the whole service. The
    broker gives an unsettled message out again on its own, so there is nothing to do but note it."""
    try:
        yield
    except OSError as exc:
        log.warning(
            "could not settle a message: its connection is gone; the broker gives it out again",
            act=what,
            error=str(exc),
        )


def _message_limit(provider, message):
    if isinstance(provider, nameko_rpc.ReplyListener):
        return float("inf")  # a reply to our own call: its size is the answer's
    config = provider.container.config
    if isinstance(provider, nameko_rpc.RpcConsumer):
        try:
            entrypoint = provider.get_provider_for_method(message.delivery_info["routing_key"])
        except MethodNotFound:
            return int(config.get("RPC_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES))
        method = getattr(entrypoint.container.service_cls, entrypoint.method_name, None)
        own = getattr(method, "rpc_max_request_bytes", None)
        return int(own or config.get("RPC_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES))
    return int(config.get("EVENT_MAX_BYTES", MAX_EVENT_BYTES))


class _RpcConsumer(nameko_rpc.RpcConsumer):
    """nameko's RPC consumer, replying without publisher confirms and refusing oversized requests.
    Its queue ``rpc-<service>`` is a transient classic queue (``messaging.rpc_queue_arguments``): a
    durable classic queue is unusable while its node is down, a transient one is recreated on the
    node the service reconnects to, and a request lost with it is retried by its caller."""

    queue_consumer = SizedQueueConsumer()
    _by_routing_key = None  # "<service>.<method>" -> its entrypoint, made on the first lookup

    def register_provider(self, provider):
        self._by_routing_key = None
        super().register_provider(provider)

    def unregister_provider(self, provider):
        super().unregister_provider(provider)  # waits until every entrypoint asked, then drops it
        self._by_routing_key = None

    def get_provider_for_method(self, routing_key):
        # nameko formats "<service>.<method>" for every entrypoint at every lookup, and a request
        # is looked up twice (its size limit, its dispatch): 64 formats a call for the registry.
        found = self._by_routing_key
        if found is None:
            service = self.container.service_name
            found = self._by_routing_key = {f"{service}.{p.method_name}": p for p in self._providers}
        provider = found.get(routing_key)
        if provider is None:
            raise MethodNotFound(routing_key.split(".")[-1])
        return provider

    def setup(self):
        if self.queue is not None:
            return
        super().setup()
        queue = self.queue
        [self.queue] = settle_declaration(
            self.container.config["AMQP_URI"],
            lambda features: [
                Queue(
                    queue.name,
                    exchange=queue.exchange,
                    routing_key=queue.routing_key,
                    durable=False,
                    queue_arguments=rpc_queue_arguments(),
                )
            ],
        )

    def handle_message(self, body, message):
        if isinstance(body, Unreadable):
            self.handle_result(message, None, (type(body.error), body.error, None))
            return
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("args", []), list)
            or not isinstance(body.get("kwargs", {}), dict)
        ):
            error = ValidationError(
                'a request body is {"args": [...], "kwargs": {...}}',
                {"_message": [f"got {type(body).__name__}"]},
            )
            self.handle_result(message, None, (type(error), error, None))
            return
        super().handle_message(body, message)

    def handle_result(self, message, result, exc_info):
        # Nothing may escape: nameko kills the whole service for an exception here.
        try:
            return self._respond(message, result, exc_info)
        except Exception:
            log.exception("could not answer an RPC request; dropped", properties=dict(message.properties))
            with suppress_broker_errors():
                self.queue_consumer.ack_message(message)
            return result, exc_info

    def _respond(self, message, result, exc_info):
        if not message.properties.get("reply_to"):
            log.warning(
                "an RPC request without reply_to: nobody to answer",
                routing_key=message.delivery_info.get("routing_key"),
            )
            self.queue_consumer.ack_message(message)
            return result, exc_info
        config = self.container.config
        responder = _Responder(
            config[nameko_rpc.AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            config.get(nameko_rpc.SERIALIZER_CONFIG_KEY, nameko_rpc.DEFAULT_SERIALIZER),
            message,
            ssl=config.get(nameko_rpc.AMQP_SSL_CONFIG_KEY),
            login_method=config.get(nameko_rpc.LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = _RpcConsumer()

    def __init__(self, **kwargs):
        kwargs.setdefault("expected_exceptions", AllianceError)
        super().__init__(**kwargs)

    def check_signature(self, args, kwargs):
        # nameko matches the arguments against the method's signature (inspect.getcallargs, ~40 µs a
        # call). Every platform method is rpc()'s ``wrapper(self, *args, **kw)``, which takes any
        # arguments: load_arguments checks them against the schema and refuses what does not fit.
        pass

    def unpack_message_headers(self, message):
        # The request's own id travels with the worker (never to downstream calls: ServiceRpc
        # drops it), so a command redelivered by the broker is recognised and not done twice.
        context = super().unpack_message_headers(message)
        context[REQUEST_KEY] = message.properties.get("correlation_id")
        context[REDELIVERED_KEY] = bool(message.delivery_info.get("redelivered"))
        return context

    def handle_result(self, message, worker_ctx, result, exc_info):
        exc_info = _settle(self.container, worker_ctx, exc_info)
        if exc_info is not None:
            result = None
            command = getattr(worker_ctx, "alliance_command", None)
            if command is not None and command.explicit and _is_repeated_request(exc_info[1]):
                result, exc_info = self._answer_of_earlier_attempt(worker_ctx, command, exc_info)
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except Exception:
            # The broker is gone before the reply could go: the caller times out, and the broker
            # redelivers the request, which the stored answer then settles. nameko would kill the
            # whole service for an exception here.
            log.exception("could not send an RPC reply; the request will be redelivered", method=self.method_name)
            return result, exc_info

    def _answer_of_earlier_attempt(self, worker_ctx, command, exc_info):
        """This attempt did the work again and its commit met the stored answer of an earlier one
        (rolled back whole): that answer is the reply."""
        session = next((d.session_of(worker_ctx) for d in self.container.dependencies if isinstance(d, Database)), None)
        done = None if session is None else _stored_answer_or_none(session, command)
        if done is None:
            return None, exc_info
        try:
            return command.replay(done), None
        except Conflict as exc:
            return None, (Conflict, exc, None)


MAX_REQUEST_ID = 128


def _fingerprint(method_name, data):
    text = kombu_json.dumps([method_name, data], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Command:
    """Where a command's answer is stored, and how a repeated request is answered.

    With the caller's ``request_id`` the answer is stored under it (per caller: two systems may
    choose the same ids) with a fingerprint of the call. Nothing is looked up on the way in, which
    would cost every command a round trip: a repetition is recognised where it shows —

    - the broker flags the message redelivered: the stored answer is looked up first;
    - the use case refuses (the ticket is accepted already) or fails: the stored answer, if there is
      one, is the reply, and the refusal is dropped with its rolled-back transaction;
    - the use case succeeds again (a second ticket): its commit fails on the stored answer's key,
      which is then the reply (``Rpc.handle_result``); nothing of the second run is kept.

    The same id with other arguments is a ``Conflict``. Without an id from the caller, the message's
    correlation id keys the answer, which covers redeliveries only.
    """

    def __init__(self, key, fingerprint, explicit):
        self.key, self.fingerprint, self.explicit = key, fingerprint, explicit

    @classmethod
    def of(cls, service, method_name, data):
        worker_data = service.call.worker_ctx.data
        chosen = worker_data.get(IDEMPOTENCY_KEY)
        if chosen is None:
            key = worker_data.get(REQUEST_KEY)
            return None if key is None else cls(key, None, explicit=False)
        if not isinstance(chosen, str) or not 1 <= len(chosen) <= MAX_REQUEST_ID or not chosen.isprintable():
            raise ValidationError(
                "invalid request id",
                {"request_id": [f"a string of 1 to {MAX_REQUEST_ID} printable characters"]},
            )
        caller = service.call.actor or "anonymous"
        return cls(f"{caller}|{chosen}", _fingerprint(method_name, data), explicit=True)

    def replay(self, stored):
        if stored["fingerprint"] != self.fingerprint:
            raise Conflict(
                "this request id was used for a different call; choose a new id for a new call",
            )
        log.info("repeated request answered from its stored result", request_id=self.key)
        return stored["result"]

    def store(self, session, method_name, result):
        # Stored as the reply is sent (kombu's JSON: dates become ISO strings), in the commit's
        # round trip.
        idempotency.store_answer(session, self.key, method_name, self.fingerprint, kombu_json.dumps(result))


def _is_repeated_request(exc):
    cause = getattr(exc, "__cause__", None)
    return (
        isinstance(cause, psycopg.errors.UniqueViolation)
        and cause.diag.constraint_name == idempotency.COMMAND_ANSWERS_KEY
    )


def load_arguments(schema, args, kwargs):
    """Load RPC arguments through ``schema``; positional arguments follow its field order."""
    if schema is None:
        if args or kwargs:
            raise ValidationError("this method takes no arguments", {"_args": ["unexpected arguments"]})
        return None
    names = list(schema.fields)
    if len(args) > len(names):
        raise ValidationError("too many positional arguments", {"_args": [f"at most {len(names)} expected"]})
    data = dict(zip(names, args, strict=False))  # fewer positional arguments than fields is fine
    twice = set(data) & set(kwargs)
    if twice:
        raise ValidationError("argument given twice", {name: ["given twice"] for name in twice})
    data.update(kwargs)
    try:
        return schema.load(data)
    except SchemaError as exc:
        raise ValidationError("invalid input", exc.messages) from exc


def rpc(
    fn=None,
    *,
    schema=None,
    result=None,
    allow=None,
    authenticated=True,
    read_only=False,
    max_request_bytes=None,
    route=None,
    remember_answer=True,
    audit=True,
    **kwargs,
):
    """Expose a method over RPC.

    ``allow``: roles that may call it (None: any verified caller). ``read_only``: the use case only
    reads, so its statements run without a transaction (see ``Session.use_read_only``).
    ``schema``: its input; every field without a bound of its own gets the platform's default
    (``bounds.py``). ``max_request_bytes``: the largest request message it takes (default
    ``RPC_MAX_REQUEST_BYTES``). ``result``: the schema of what it returns — the caller gets what
    that schema dumps, and with ``RPC_VALIDATE_RESULTS`` (on in the tests) a result that does not
    load back through it is an error, so the contract cannot drift from the code. ``route``: where
    the HTTP gateway serves it, ``"VERB /path/{field}"`` under ``/v1`` (a tuple for several), each
    ``{field}`` a field of ``schema`` (``routes.py``). ``remember_answer=False``: a command whose
    answer must not be kept (it holds a secret, e.g. a freshly minted token): a repeated request
    is carried out again instead of answered from ``command_answers``. ``authenticated=False``:
    anyone may call it, with no token (signing in). ``audit``: a command's row in the service's
    ``changes`` (``audit.py``): ``True`` by the default rule, an ``audit.Audit`` to correct which
    fields name which entities or to leave input fields out, ``False`` for none.
    """
    schema = schema() if isinstance(schema, type) else schema
    audit_rule = None if read_only else auditing.Audit.of(audit)
    if schema is not None:
        apply_defaults(schema)
    result_schema = result() if isinstance(result, type) else result

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kw):
            if authenticated:
                identity = self.call.identity
                identity.require_grant(self.call.entrypoint)
                if allow:
                    identity.require_roles(*allow)
            data = load_arguments(schema, args, kw)
            if read_only:
                self.db.use_read_only()
            command = None if read_only or not remember_answer else Command.of(self, method.__name__, data)
            self.call.worker_ctx.alliance_command = command
            try:
                if command is not None and self.call.worker_ctx.data.get(REDELIVERED_KEY):
                    done = idempotency.stored_answer(self.db, command.key)
                    if done is not None:
                        return command.replay(done)
                answer = method(self, data) if schema is not None else method(self)
                if result_schema is not None:
                    answer = _dump_result(result_schema, answer, self.call.worker_ctx.config, method.__name__)
                if command is not None:
                    command.store(self.db, method.__name__, answer)
                if audit_rule is not None:
                    auditing.record_command(self, method.__name__, schema, data, answer, audit_rule)
                return answer
            except Exception as exc:
                if command is not None and command.explicit:
                    done = _stored_answer_or_none(self.db, command)
                    if done is not None:
                        return command.replay(done)
                typed = translate_db_error(exc) if isinstance(exc, psycopg.Error) else None
                if typed is None:
                    raise
                raise typed from exc

        wrapper.rpc_schema = schema
        wrapper.rpc_result = result_schema
        wrapper.rpc_allow = tuple(allow or ())
        wrapper.rpc_read_only = read_only
        wrapper.rpc_max_request_bytes = max_request_bytes
        wrapper.rpc_routes = parse_routes(route, schema, method.__name__)
        wrapper.rpc_authenticated = authenticated
        wrapper.rpc_audit = audit_rule
        return Rpc.decorator(**kwargs)(wrapper)

    return decorate(fn) if fn is not None else decorate


class ResultError(Exception):
    """A method returned something its result schema does not describe: a bug, never the caller's."""


def _dump_result(schema, answer, config, method_name):
    try:
        dumped = schema.dump(answer)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ResultError(f"{method_name} returned what its result schema cannot dump: {exc}") from exc
    if str(config.get("RPC_VALIDATE_RESULTS", "false")).lower() in ("1", "true", "yes"):
        errors = schema.validate(dumped)
        if errors:
            raise ResultError(f"{method_name} returned what its result schema refuses: {errors}")
    return dumped


def _stored_answer_or_none(session, command):
    """After a failed attempt: the answer an earlier attempt stored, or None (also if unreadable)."""
    try:
        return idempotency.stored_answer_alone(session, command.key)
    except psycopg.Error as exc:
        log.warning("could not look for a stored answer", request_id=command.key, error=str(exc))
        return None


class FailureTopology(SharedExtension):
    """Declares the retry and dead-letter queues once per service and routes failed messages."""

    def setup(self):
        config = self.container.config
        self.delays = retry_delays(config)
        self.router = FailureRouter(config["AMQP_URI"], self.container.service_name, self.delays)

    def start(self):
        declare_failure_topology(self.container.config["AMQP_URI"], self.container.service_name, self.delays)


class EventHandler(nameko_events.EventHandler):
    failures = FailureTopology()
    queue_consumer = SizedQueueConsumer()

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("expected_exceptions", AllianceError)
        super().__init__(
            source_service,
            event_type,
            handler_type=nameko_events.SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=False,
            **kwargs,
        )

    def setup(self):
        super().setup()
        # One queue, two ways in: the source's events exchange, and the retry return exchange.
        # (kombu drops a queue's own exchange once it has extra bindings, so both are bindings.)
        # Its type and arguments are the platform's (quorum, delivery limit, at-least-once dead
        # letters: messaging.py), declared here once; a queue an earlier release declared otherwise
        # is used as it is (``settle_declaration``).
        queue, service = self.queue, self.container.service_name
        [self.queue] = settle_declaration(
            self.container.config["AMQP_URI"],
            lambda features: [
                Queue(
                    queue.name,
                    bindings=[binding(queue.exchange, routing_key=queue.routing_key), retry_binding(queue.name)],
                    durable=True,
                    auto_delete=queue.auto_delete,
                    exclusive=queue.exclusive,
                    queue_arguments=handler_queue_arguments(service, features),
                )
            ],
        )
        self.handler_name = f"{self.container.service_name}.{self.method_name}"

    def unpack_message_headers(self, message):
        # Only nameko's own context headers become context data: broker and retry headers
        # (x-death, attempts) must not be forwarded on every downstream call.
        prefix = f"{HEADER_PREFIX}."
        return {k[len(prefix) :]: v for k, v in (message.headers or {}).items() if k.startswith(prefix)}

    def handle_message(self, body, message):
        try:
            if isinstance(body, Unreadable):
                raise ContractError(f"unreadable event: {body.error}")
            event = parse_event(body)
            if (event.source, event.event_type) != (self.source_service, self.event_type):
                raise ContractError(f"{event.source}.{event.event_type} arrived at {self.queue.name}")
        except ContractError as exc:
            self._dead_letter_poison(message, str(exc))
            return
        context_data = self.unpack_message_headers(message)
        context_data[CORRELATION_KEY] = event.correlation_id
        context_data[REDELIVERED_KEY] = bool(message.delivery_info.get("redelivered"))
        try:
            self.container.spawn_worker(
                self,
                (event,),
                {},
                context_data=context_data,
                handle_result=partial(self.handle_result, message),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _dead_letter_poison(self, message, reason):
        log.error("event rejected: breaks its contract", queue=self.queue.name, reason=reason)
        try:
            self.failures.router.dead_letter(message, self.queue.name, self.handler_name, reason, attempts=0)
            self.queue_consumer.ack_message(message)
        except Exception:
            log.exception("could not dead-letter a rejected event; it stays in its queue")
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        exc_info = _settle(self.container, worker_ctx, exc_info)
        if exc_info is None:
            self._observe_delay(worker_ctx)
        elif idempotency.is_duplicate_claim(exc_info[1]):
            # The claim went with the commit and met an earlier run's: nothing of this one is kept.
            log.info("duplicate event skipped", handler=self.handler_name)
            result, exc_info = None, None
        try:
            if exc_info is not None:
                outcome = self.failures.router.route(message, self.queue.name, self.handler_name, _describe(exc_info))
                log.warning(
                    "event handler failed", handler=self.handler_name, outcome=outcome, error=_describe(exc_info)
                )
            self.queue_consumer.ack_message(message)
        except Exception:
            # The broker did not take the retry: leave the message with the broker, which
            # redelivers it; processed_events keeps a second run from repeating a committed effect.
            log.exception("could not route a failed event; returning it to its queue", handler=self.handler_name)
            self.queue_consumer.requeue_message(message)
        return result, exc_info

    def _observe_delay(self, worker_ctx):
        """``alliance_event_delay_seconds``: from the event's ``occurred_at`` to this commit — the
        relay's wait, the broker, the queue and the handler together (across hosts, give or take
        their clocks' difference)."""
        event = worker_ctx.args[0] if worker_ctx.args else None
        occurred_at = getattr(event, "occurred_at", None)
        try:
            delay = max(0.0, time.time() - occurred_at.timestamp())
            metrics_of(self.container).event_delay.labels(self.container.service_name, self.method_name).observe(delay)
        except Exception as exc:  # a figure, never a reason to fail the settled event
            log.debug("could not observe an event's delay", error=str(exc))


def event_handler(source, event_type, audit=True, **kwargs):
    """Handle ``source``'s ``event_type`` events exactly once in effect; the method gets an ``Event``.
    Each run that is not a duplicate is a row in ``changes`` (``audit.py``) unless ``audit=False``."""
    rule = auditing.Audit.of(audit)
    if not versions(source, event_type):
        raise ContractError(f"no contract for {source}.{event_type}: declare it in alliance_contracts")

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, event):
            session, handler = self.db, f"{self.name}.{method.__name__}"
            redelivered = self.call.worker_ctx.data.get(REDELIVERED_KEY)
            if redelivered:
                # The broker gives it out again (its consumer died holding it): most likely handled
                # already, so asked before the handler runs at all.
                if not idempotency.claim_event(session, handler, event.event_id):
                    return _duplicate(session, event)
            else:
                # With the handler's first statement, in its round trip; a duplicate fails it.
                idempotency.defer_claim(session, handler, event.event_id)
            try:
                result = method(self, event)
            except Exception as exc:
                if not redelivered and (
                    idempotency.is_duplicate_claim(exc) or _claimed_before(session, handler, event.event_id)
                ):
                    return _duplicate(session, event)
                raise
            if rule is not None:
                auditing.record_event(self, method.__name__, event, result, rule)
            return result

        wrapper.handles = (source, event_type)
        return EventHandler.decorator(source, event_type, **kwargs)(wrapper)

    return decorate


def _duplicate(session, event):
    """A run of an event handled before: nothing of it is kept (its statements roll back)."""
    session.rollback()
    log.info("duplicate event skipped", event_id=event.event_id, event_type=event.event_type)


def _claimed_before(session, handler, event_id):
    """After a handler failed: whether its event had been handled before all the same (the claim
    not sent yet when it failed, or its unique violation caught and something else raised)."""
    try:
        return idempotency.claimed_before(session, handler, event_id)
    except psycopg.Error as exc:
        log.warning("could not look for an earlier run of an event", event_id=event_id, error=str(exc))
        return False


class Timer(nameko_timer.Timer):
    """``timer(interval=30)``, or ``timer(interval="CONFIG_KEY")`` to read the seconds from config."""

    def setup(self):
        super().setup()
        if isinstance(self.interval, str):
            self.interval = float(self.container.config[self.interval])

    def handle_result(self, worker_ctx, result, exc_info):
        exc_info = _settle(self.container, worker_ctx, exc_info)
        return super().handle_result(worker_ctx, result, exc_info)


def timer(interval, eager=False, audit=True, **kwargs):
    """A timer entrypoint (``Timer``). A run whose result reports work done (``audit.did_work``) is a
    row in ``changes``, acted by ``system:<service>``, unless ``audit=False``."""
    rule = auditing.Audit.of(audit)

    def decorate(method):
        if rule is None:
            return Timer.decorator(interval=interval, eager=eager, **kwargs)(method)

        @functools.wraps(method)
        def wrapper(self):
            result = method(self)
            if auditing.did_work(result):
                auditing.record_timer(self, method.__name__, result, rule)
            return result

        return Timer.decorator(interval=interval, eager=eager, **kwargs)(wrapper)

    return decorate
