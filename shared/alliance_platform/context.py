"""The current call: who called, which correlation id it carries, and its log context.

nameko runs each worker in its own greenthread, and every greenlet has its own
``contextvars`` context, so a context variable set in ``worker_setup`` belongs to exactly one
worker. The platform's entrypoint wrappers, the database session and the log lines all read the
call from here instead of passing it through every function.
"""

import time
import uuid
from contextvars import ContextVar

import structlog
from nameko.extensions import DependencyProvider

from . import delegation
from .errors import AllianceError, Unauthenticated
from .identity import TokenService
from .metrics import metrics_of

_current = ContextVar("alliance_call", default=None)
log = structlog.get_logger("alliance.call")

CORRELATION_KEY = "correlation_id"
AUTHORIZATION_KEY = "authorization"
REQUEST_KEY = "rpc_request_id"
REDELIVERED_KEY = "rpc_redelivered"
# The caller's own id for a logical call (an idempotency key), kept across its retries: header
# ``nameko.request_id``. Never forwarded to downstream calls (each is a request of its own).
IDEMPOTENCY_KEY = "request_id"


def new_id():
    return uuid.uuid4().hex


def current_call():
    """The call this worker is handling, or None outside a worker (scripts, tests)."""
    return _current.get()


class Call:
    """One worker's view of its caller. Identity is verified on first use, never raises early."""

    def __init__(self, worker_ctx, tokens, metrics):
        self.worker_ctx = worker_ctx
        self.metrics = metrics
        self._tokens = tokens
        self._identity = None
        self._problem = None
        self._verified = False

    @property
    def entrypoint(self):
        return f"{self.worker_ctx.service_name}.{self.worker_ctx.entrypoint.method_name}"

    @property
    def correlation_id(self):
        return self.worker_ctx.data[CORRELATION_KEY]

    @property
    def identity(self):
        """The verified caller; raises ``Unauthenticated`` when the call carries none or a bad one."""
        if not self._verified:
            self._verified = True
            try:
                identity = self._tokens.verify(self.worker_ctx.data.get(AUTHORIZATION_KEY))
                delegation.check(self.worker_ctx.container, identity)  # a revoked delegation's token
                self._identity = identity
            except Unauthenticated as exc:
                self._problem = exc
        if self._identity is None:
            raise self._problem
        return self._identity

    @property
    def actor(self):
        """``kind:subject`` of the verified caller, or None — for histories and event envelopes."""
        try:
            identity = self.identity
        except Unauthenticated:
            return None
        return f"{identity.kind}:{identity.subject}"


class CallContext(DependencyProvider):
    """Gives each worker its ``Call``, a correlation id, bound log fields and one summary log line.

    Entrypoints whose method is marked ``quiet`` (health probes) log at debug level only.
    """

    def setup(self):
        self.tokens = TokenService.from_config(self.container.config)
        self.metrics = metrics_of(self.container)
        self.calls = {}

    def get_dependency(self, worker_ctx):
        call = Call(worker_ctx, self.tokens, self.metrics)
        self.calls[worker_ctx] = call
        return call

    def worker_setup(self, worker_ctx):
        call = self.calls[worker_ctx]
        worker_ctx.data.setdefault(CORRELATION_KEY, new_id())
        _current.set(call)
        call.started = time.perf_counter()
        structlog.contextvars.bind_contextvars(
            service=worker_ctx.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            call_id=worker_ctx.call_id,
            correlation_id=call.correlation_id,
        )

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        call = self.calls.get(worker_ctx)
        if call is None:
            return
        # An entrypoint may name the kind its calls are counted as (the gateway's: "http").
        kind = getattr(worker_ctx.entrypoint, "metric_kind", None) or type(worker_ctx.entrypoint).__name__.lower()
        method = worker_ctx.entrypoint.method_name
        seconds = time.perf_counter() - call.started
        outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
        self.metrics.observe(kind, method, outcome, seconds)
        fields = {"kind": kind, "duration_ms": round(seconds * 1000, 2), "caller": call.actor, "outcome": outcome}
        if exc_info is None:
            quiet = getattr(getattr(worker_ctx.service, method, None), "quiet", False)
            (log.debug if quiet else log.info)("call handled", **fields)
        elif isinstance(exc_info[1], AllianceError):
            log.warning("call refused", error=str(exc_info[1]), **fields)
        else:
            log.error("call failed", error=str(exc_info[1]), **fields)

    def worker_teardown(self, worker_ctx):
        self.calls.pop(worker_ctx, None)
        structlog.contextvars.clear_contextvars()
        _current.set(None)
