"""Calling services: from inside a service (``ServiceRpc``) and from outside (``AllianceClient``).

Both put a signed identity on every call and a timeout on every wait, and turn nameko's transport
errors into the platform's typed errors: ``ServiceTimeout`` and ``ServiceUnavailable``.

- A service calls another with its *own* identity (kind ``system``, subject = its name), minted
  from the shared signing secret; the correlation id of the current call travels along.
- Other internal systems, the CLI, the demo and the tests use ``AllianceClient`` with a token
  for the identity they act as::

      with AllianceClient(amqp_uri, token) as alliance:
          alliance.registry.get_merchant(merchant_id=...)
"""

import time
import uuid

import eventlet
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import MethodProxy, RpcProxy, ServiceProxy
from nameko.standalone.rpc import ClusterRpcProxy

from .context import AUTHORIZATION_KEY, CORRELATION_KEY, REDELIVERED_KEY, REQUEST_KEY
from .errors import ServiceTimeout, ServiceUnavailable
from .identity import TokenService


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
        for key in (REQUEST_KEY, REDELIVERED_KEY):  # the downstream call is a request of its own
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


class ServiceRpc(RpcProxy):
    """``registry_rpc = ServiceRpc("registry")``: calls with this service's identity and a timeout."""

    def setup(self):
        super().setup()
        config = self.container.config
        self.options["token"] = _ServiceToken(
            TokenService.from_config(config), self.container.service_name, int(config.get("SERVICE_TOKEN_TTL", 3600))
        )
        self.options.setdefault("timeout", float(config.get("RPC_TIMEOUT", 10)))

    def get_dependency(self, worker_ctx):
        return _ServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener, **self.options)


class _ClientMethod:
    def __init__(self, method):
        self._method = method

    def __call__(self, *args, **kwargs):
        return _translate(lambda: self._method(*args, **kwargs), self._method)

    def call_async(self, *args, **kwargs):
        reply = self._method.call_async(*args, **kwargs)
        return _ClientReply(reply, self._method)


class _ClientReply:
    def __init__(self, reply, method):
        self._reply, self._method = reply, method

    def result(self):
        return _translate(self._reply.result, self._method)


def _translate(fn, method):
    target = f"{method.service_name}.{method.method_name}"
    try:
        return fn()
    except RpcTimeout as exc:
        raise ServiceTimeout(f"{target} gave no answer within {exc.args[0] if exc.args else '?'}s") from exc
    except UnknownService as exc:
        raise ServiceUnavailable(f"{target}: no instance of {method.service_name} is running") from exc


class _ClientService:
    def __init__(self, proxy):
        self._proxy = proxy

    def __getattr__(self, name):
        return _ClientMethod(getattr(self._proxy, name))


class AllianceClient:
    """A standalone RPC client acting as the identity in ``token``; every call times out."""

    def __init__(self, amqp_uri, token, timeout=10.0, correlation_id=None):
        context = {CORRELATION_KEY: correlation_id or uuid.uuid4().hex}
        if token is not None:
            context[AUTHORIZATION_KEY] = token
        self._proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data=context, timeout=timeout)
        self._cluster = None

    def __enter__(self):
        self._cluster = self._proxy.start()
        return self

    def __exit__(self, *exc):
        self._proxy.stop()

    def __getattr__(self, service):
        if self._cluster is None:
            raise RuntimeError("use AllianceClient as a context manager: with AllianceClient(...) as alliance:")
        return _ClientService(getattr(self._cluster, service))
