"""Calling services: from inside a service (``ServiceRpc``) and from outside (``AllianceClient``).

Both put a signed identity on every call and a timeout on every wait, and turn nameko's transport
errors into the platform's typed errors: ``ServiceTimeout`` and ``ServiceUnavailable``.

- A service calls another with its *own* identity (kind ``system``, subject = its name), signed
  with its own key (``SIGNING_KEY``), which can sign nothing else; the receiver gives it the
  service's method grants (``grants.RPC_CALLS``). The correlation id of the current call travels along.
- Other internal systems, the CLI, the demo and the tests use ``AllianceClient`` with a token
  for the identity they act as::

      with AllianceClient(amqp_uri, token) as alliance:
          alliance.registry.get_merchant(merchant_id=...)
"""

import time

import eventlet
import structlog
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import MethodProxy, ReplyListener, RpcProxy, ServiceProxy
from nameko.standalone.rpc import ClusterRpcProxy, PollingQueueConsumer, SingleThreadedReplyListener

from .context import AUTHORIZATION_KEY, CORRELATION_KEY, IDEMPOTENCY_KEY, REDELIVERED_KEY, REQUEST_KEY, new_id
from .entrypoints import SizedQueueConsumer
from .errors import ServiceTimeout, ServiceUnavailable
from .identity import TokenService
from .messaging import rpc_queue_arguments

log = structlog.get_logger("alliance.rpc")


class _ServiceToken:
    """The calling service's own token, re-minted before it expires."""

    def __init__(self, tokens, service, ttl):
        self._tokens, self._service, self._ttl = tokens, service, ttl
        self._token, self._renew_at = None, 0.0

    def __call__(self):
        now = time.time()
        if now >= self._renew_at:
            self._token = self._tokens.issue(self._service, "system", roles=["system"], districts=["*"], ttl=self._ttl)
            self._renew_at = now + self._ttl / 2
        return self._token


class _MethodProxy(MethodProxy):
    def __init__(self, worker_ctx, service_name, method_name, reply_listener, *, token, timeout, **options):
        self._token = token
        self._timeout = timeout
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)

    def get_message_headers(self, worker_ctx):
        headers = super().get_message_headers(worker_ctx)
        headers[f"{self.header_prefix}.{AUTHORIZATION_KEY}"] = self._token()
        for key in (REQUEST_KEY, REDELIVERED_KEY, IDEMPOTENCY_KEY):  # the downstream call is a request of its own
            headers.pop(f"{self.header_prefix}.{key}", None)
        return headers

    def __call__(self, *args, **kwargs):
        target = f"{self.service_name}.{self.method_name}"
        try:
            with eventlet.Timeout(self._timeout, ServiceTimeout(f"{target} gave no answer within {self._timeout}s")):
                return self._call(*args, **kwargs).result()
        except UnknownService as exc:
            raise ServiceUnavailable(f"{target}: no instance of {self.service_name} is running") from exc


class _ServiceProxy(ServiceProxy):
    def __getattr__(self, name):
        return _MethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, **self.options)


class _PlatformReplyQueue:
    """nameko's reply queue (durable, expiring) as the platform declares it: exclusive to its
    connection, classic. A durable classic queue is unusable while its node is down; an exclusive
    one goes with its connection and is declared again on whichever node the listener reconnects
    to. A reply in flight when the connection broke is lost: its caller times out and retries with
    the same request id. (nameko's ``setup`` assigns ``self.queue``; this keeps its name.)"""

    @property
    def queue(self):
        return self._platform_queue

    @queue.setter
    def queue(self, queue):
        self._platform_queue = Queue(
            queue.name,
            exchange=queue.exchange,
            routing_key=queue.routing_key,
            durable=False,
            exclusive=True,
            queue_arguments=rpc_queue_arguments(),
        )


class _ReplyListener(_PlatformReplyQueue, ReplyListener):
    # The platform's queue consumer (one per service): it stops even while the broker is down.
    queue_consumer = SizedQueueConsumer()


class _ClientQueueConsumer(PollingQueueConsumer):
    """nameko's polling reply consumer, which reconnects in place when its connection breaks while
    it waits. A reconnect that fails half-way (the new connection reached a node where the reply
    queue cannot be declared and bound yet: ``NotFound``; or the broker refuses it) left nameko's
    consumer holding the old, closed channel: every later call failed with ``AttributeError``. Here
    any failure to set the consumer up is a lost connection, and the client starts a new one."""

    def _setup_consumer(self):
        try:
            super()._setup_consumer()
        except Exception as exc:  # whatever broke the set-up, the consumer is unusable
            self.consumer = None
            raise AmqpConnectionError(f"the reply consumer could not be set up again: {exc!r}") from exc

    def get_message(self, correlation_id):
        if self.consumer is None:
            raise AmqpConnectionError("the reply consumer was lost")
        super().get_message(correlation_id)


class _ClientReplyListener(_PlatformReplyQueue, SingleThreadedReplyListener):
    """The standalone client's reply listener (``AllianceClient``)."""

    def __init__(self, timeout=None):
        super().__init__(timeout=timeout)
        self.queue_consumer = _ClientQueueConsumer(timeout=timeout)


class ServiceRpc(RpcProxy):
    """``registry_rpc = ServiceRpc("registry")``: calls with this service's identity and a timeout."""

    rpc_reply_listener = _ReplyListener()

    def setup(self):
        super().setup()
        config = self.container.config
        self.options["token"] = _ServiceToken(
            TokenService.for_service(config, self.container.service_name),
            self.container.service_name,
            int(config.get("SERVICE_TOKEN_TTL", 3600)),
        )
        self.options.setdefault("timeout", float(config.get("RPC_TIMEOUT", 10)))

    def get_dependency(self, worker_ctx):
        return _ServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener, **self.options)


# What a broken or missing broker connection raises on the client's side.
_TRANSPORT_ERRORS = (OSError, AmqpConnectionError, KombuOperationalError)


class _KeyedMethodProxy(MethodProxy):
    """nameko's method proxy, with the logical call's request id in the message headers."""

    def __init__(self, worker_ctx, service_name, method_name, reply_listener, request_id):
        self._request_id = request_id
        super().__init__(worker_ctx, service_name, method_name, reply_listener)

    def get_message_headers(self, worker_ctx):
        headers = super().get_message_headers(worker_ctx)
        headers[f"{self.header_prefix}.{IDEMPOTENCY_KEY}"] = self._request_id
        return headers


class _ClientMethod:
    """``alliance.tickets.submit_ticket(...)``: one logical call, retried with the same request id.

    ``.with_request_id("crm-42")(...)`` names the id (an idempotency key) yourself, e.g. one kept in
    your own database so that a retry after your process restarted is recognised too.
    """

    def __init__(self, client, service_name, method_name, request_id=None):
        self._client, self._service, self._method = client, service_name, method_name
        self._request_id = request_id

    def with_request_id(self, request_id):
        return _ClientMethod(self._client, self._service, self._method, request_id)

    def __call__(self, *args, **kwargs):
        return self._client._call(self._service, self._method, self._request_id or new_id(), args, kwargs)

    def call_async(self, *args, **kwargs):
        """Send now, wait later: ``reply = m.call_async(...); reply.result()`` (not retried)."""
        client, target, request_id = self._client, f"{self._service}.{self._method}", self._request_id or new_id()
        proxy = client._guard(target, lambda: client._proxy_for(self._service, self._method, request_id))
        return _ClientReply(client, target, client._guard(target, lambda: proxy.call_async(*args, **kwargs)))


class _ClientReply:
    def __init__(self, client, target, reply):
        self._client, self._target, self._reply = client, target, reply

    def result(self):
        return self._client._guard(self._target, self._reply.result)


class _ClientService:
    def __init__(self, client, name):
        self._client, self._name = client, name

    def __getattr__(self, method):
        return _ClientMethod(self._client, self._name, method)


class AllianceClient:
    """A standalone RPC client acting as the identity in ``token``; every call times out.

    Each call carries a request id (``nameko.request_id``), fresh per logical call, kept across the
    client's own retries: a command retried after a timeout or a broken connection is answered
    from its stored result and not carried out twice. ``retries`` is how many times a call is sent
    again after ``ServiceTimeout`` or ``ServiceUnavailable`` (the broker or the service could not be
    reached), reconnecting first, ``retry_wait`` seconds apart and growing. With the broker
    unreachable, opening the client raises ``ServiceUnavailable``.
    """

    def __init__(self, amqp_uri, token, timeout=10.0, correlation_id=None, retries=2, retry_wait=0.5):
        self._context = {CORRELATION_KEY: correlation_id or new_id()}
        if token is not None:
            self._context[AUTHORIZATION_KEY] = token
        self._amqp_uri, self._timeout = amqp_uri, timeout
        self.retries, self.retry_wait = retries, retry_wait
        self._proxy = None
        self._opened = False

    def __enter__(self):
        self._connect()
        self._opened = True
        return self

    def __exit__(self, *exc):
        self._opened = False
        self._disconnect()

    def __getattr__(self, service):
        if service.startswith("_"):
            raise AttributeError(service)
        if not self._opened:
            raise RuntimeError("use AllianceClient as a context manager: with AllianceClient(...) as alliance:")
        return _ClientService(self, service)

    # connection ------------------------------------------------------------------------------

    def _connect(self):
        proxy = ClusterRpcProxy(
            {"AMQP_URI": self._amqp_uri},
            context_data=dict(self._context),
            timeout=self._timeout,
            reply_listener_cls=_ClientReplyListener,
        )
        try:
            proxy.start()
        except _TRANSPORT_ERRORS as exc:
            raise ServiceUnavailable(f"the broker cannot be reached: {exc}") from exc
        self._proxy = proxy

    def _disconnect(self):
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            try:
                proxy.stop()
            except _TRANSPORT_ERRORS as exc:  # the connection is gone already
                log.debug("closing a broken client connection failed", error=str(exc))

    def _proxy_for(self, service, method, request_id):
        if self._proxy is None:
            self._connect()
        return _KeyedMethodProxy(self._proxy._worker_ctx, service, method, self._proxy._reply_listener, request_id)

    # calls -----------------------------------------------------------------------------------

    def _guard(self, target, fn):
        try:
            return fn()
        except RpcTimeout as exc:
            raise ServiceTimeout(f"{target} gave no answer within {self._timeout}s") from exc
        except UnknownService as exc:
            raise ServiceUnavailable(f"{target}: no instance of {target.split('.')[0]} is running") from exc
        except _TRANSPORT_ERRORS as exc:
            self._disconnect()  # the next attempt starts from a new connection
            raise ServiceUnavailable(f"{target}: the broker connection failed: {exc}") from exc
        except RuntimeError as exc:
            if "disconnected" not in str(exc) and "stopped" not in str(exc):
                raise
            self._disconnect()  # nameko's reply consumer gave up on its connection
            raise ServiceUnavailable(f"{target}: the broker connection failed: {exc}") from exc

    def _call(self, service, method, request_id, args, kwargs):
        target = f"{service}.{method}"
        for attempt in range(self.retries + 1):
            try:
                return self._guard(target, lambda: self._proxy_for(service, method, request_id)(*args, **kwargs))
            except (ServiceTimeout, ServiceUnavailable) as exc:
                if attempt == self.retries:
                    raise
                log.info("retrying a call with the same request id", target=target, attempt=attempt + 1, error=str(exc))
                time.sleep(self.retry_wait * 2**attempt)


class _CallerMethodProxy(_MethodProxy):
    """A call made on behalf of the caller of this worker: its token, its request id."""

    def __init__(self, *args, request_id=None, **kwargs):
        self._request_id = request_id
        super().__init__(*args, **kwargs)

    def get_message_headers(self, worker_ctx):
        headers = super().get_message_headers(worker_ctx)
        if self._token() is None:  # no identity at all: the service says so (Unauthenticated)
            headers.pop(f"{self.header_prefix}.{AUTHORIZATION_KEY}", None)
        if self._request_id is not None:
            headers[f"{self.header_prefix}.{IDEMPOTENCY_KEY}"] = self._request_id
        return headers


class _CallerCalls:
    def __init__(self, worker_ctx, reply_listener, timeout):
        self._worker_ctx, self._reply_listener, self._timeout = worker_ctx, reply_listener, timeout

    def __call__(self, service, method, kwargs, *, token, request_id=None):
        """``service.method(**kwargs)`` as the holder of ``token`` (None: no identity, the service
        refuses with ``Unauthenticated``), keyed by ``request_id`` when the caller chose one."""
        proxy = _CallerMethodProxy(
            self._worker_ctx,
            service,
            method,
            self._reply_listener,
            token=lambda: token,
            timeout=self._timeout,
            request_id=request_id,
        )
        return proxy(**kwargs)


class CallerRpc(RpcProxy):
    """``calls = CallerRpc()``; ``self.calls("tickets", "get_ticket", {...}, token=...)``: calls any
    service *as the caller*, with the caller's own token — for a front door (the HTTP gateway) that
    holds no power to act of its own. The correlation id of the current call travels along."""

    rpc_reply_listener = _ReplyListener()

    def __init__(self, timeout_key="RPC_TIMEOUT"):
        super().__init__("*")
        self.timeout_key = timeout_key

    def setup(self):
        super().setup()
        config = self.container.config
        self.timeout = float(config.get(self.timeout_key) or config.get("RPC_TIMEOUT", 10))

    def get_dependency(self, worker_ctx):
        return _CallerCalls(worker_ctx, self.rpc_reply_listener, self.timeout)
