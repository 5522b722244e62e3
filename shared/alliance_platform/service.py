"""``AllianceService``: the base every service class inherits.

It brings the platform's two per-worker dependencies — ``call`` (who is calling, correlation id,
log context) and ``db`` (one transaction per worker, with the outbox) — and the health endpoints.
A service class stays thin: ``name``, its other dependencies and entrypoints that load input,
call one use case and return its result.
"""

from nameko.web.handlers import http

from .context import CallContext
from .db import Database
from .health import HealthCheck, json_response


def quiet(method):
    """Log this entrypoint's successful calls at debug level (probes would flood the log)."""
    method.quiet = True
    return method


class AllianceService:
    call = CallContext()
    db = Database()

    @http("GET", "/health/live")
    @quiet
    def health_live(self, request):
        return json_response(200, {"service": self.name, "status": "live"})

    @http("GET", "/health/ready")
    @quiet
    def health_ready(self, request):
        ok, report = HealthCheck(self.call.worker_ctx.config, self.name, self.db).ready()
        return json_response(200 if ok else 503, {**report, "status": "ready" if ok else "not ready"})
