"""``AllianceService``: the base every service class inherits.

It brings the platform's per-worker dependencies — ``call`` (who is calling, correlation id, log
context), ``db`` (one transaction per worker, with the outbox) and ``clock`` (the time domain rules
read, movable in tests) — and the HTTP endpoints operators probe: health and Prometheus metrics.
A service class stays thin: ``name``, its other dependencies and entrypoints that load input,
call one use case and return its result.
"""

from nameko.web.handlers import http

from . import audit, delegation, housekeeping
from .clock import ClockProvider
from .context import CallContext
from .entrypoints import event_handler, rpc, timer
from .errors import Unauthenticated
from .health import HealthCheck, json_response
from .metrics import CONTENT_TYPE
from .store import Database, relay_of
from .usecases import UseCaseContext

# Set on a container by ``runner.run`` once all its extensions have started.
STARTED_MARK = "alliance_started"


def quiet(method):
    """Log this entrypoint's successful calls at debug level (probes would flood the log)."""
    method.quiet = True
    return method


class PlatformService:
    """What every process of the platform has, with or without a database of its own: the call
    context, the clock, health and metrics (the HTTP gateway is one of these)."""

    call = CallContext()
    clock = ClockProvider()

    @http("GET", "/health/live")
    @quiet
    def health_live(self, request):
        return json_response(200, {"service": self.name, "status": "live"})

    @http("GET", "/health/ready")
    @quiet
    def health_ready(self, request):
        ok, report = self._health().ready()
        # The web server answers while nameko still starts the other entrypoints: not ready until
        # the runner says the start is complete (containers outside the runner, in tests, are).
        started = getattr(self.call.worker_ctx.container, STARTED_MARK, True)
        ok = ok and started
        status = "ready" if ok else "not ready" if started else "starting"
        return json_response(200 if ok else 503, {**report, "status": status})

    @http("GET", "/metrics")
    @quiet
    def metrics(self, request):
        ok, report = self._health().ready()
        return 200, {"Content-Type": CONTENT_TYPE}, self.call.metrics.exposition(ok, report)

    def _health(self):
        container = self.call.worker_ctx.container
        db = getattr(self, "db", None)
        return HealthCheck(container.config, self.name, db, relay_of(container) if db is not None else None)


class AllianceService(PlatformService):
    """A service that owns a database: one transaction per worker, with the outbox and its relay."""

    db = Database()
    # The delegations an administrator revoked, known to every call (``delegation.py``).
    revocations = delegation.RevocationWatch()

    @timer(interval="HOUSEKEEPING_INTERVAL")
    @quiet
    def platform_housekeeping(self):
        return housekeeping.purge(self.db, self.call.worker_ctx.config)

    # Every service learns of a revoked internal system at once and refuses its tokens from then on.
    @event_handler("registry", "system_access_revoked")
    def platform_system_access_revoked(self, event):
        return delegation.record_revocation(self.db, event.payload["system_id"], event.payload["revoked_at"])

    def __init_subclass__(cls, **kwargs):
        # Every service answers for its own changes: ``list_changes`` routed under its own name
        # (``GET /v1/changes/<service>``), one method per service class made here, since a route
        # is part of the method's declaration.
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if isinstance(name, str) and "list_changes" not in cls.__dict__:
            cls.list_changes = _list_changes_of(name)

    def ctx(self):
        """The context of this call's use case: session, verified caller (None without one), now, settings."""
        try:
            caller = self.call.identity
        except Unauthenticated:
            caller = None  # a timer or an event handler: nobody called
        return UseCaseContext(self.db, caller, self.clock.now(), getattr(self, "settings", None))


def _list_changes_of(service):
    @rpc(
        schema=audit.ListChanges,
        result=audit.ChangePage,
        allow=("admin",),
        read_only=True,
        route=f"GET /changes/{service.replace('_', '-')}",  # a path segment has no "_"
    )
    def list_changes(self, cmd):
        """The changes this service made, oldest first: to one entity (``entity`` and ``entity_id``:
        merchant, person, ticket, activity, registration … and its id) or all, within ``since`` and
        ``until``; who acted (a system acting for someone: ``on_behalf_of``), the correlation id and
        the caller's request id, the entities touched, a summary of the input without secrets. For
        administrators; ``alliance changes`` merges every service's."""
        return audit.list_changes(self.db, cmd)

    list_changes.__qualname__ = f"{service}.list_changes"
    return list_changes
