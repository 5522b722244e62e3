"""The gateway's nameko class: one HTTP entrypoint per operation (``operations.py``), each calling
its RPC method as the caller; ``/openapi.json`` and the reference page ``/docs``; health and metrics
like every service. It has no database and mints no token: it holds no power to act of its own."""

import json
from importlib import resources

import jwt
from nameko.web.handlers import HttpRequestHandler, http
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from alliance_platform.context import AUTHORIZATION_KEY, Call, CallContext
from alliance_platform.errors import AllianceError, Unauthenticated
from alliance_platform.identity import Identity
from alliance_platform.metrics import metrics_of
from alliance_platform.rpc import CallerRpc
from alliance_platform.service import PlatformService, quiet

from . import console, open311, openapi, problems
from . import http as http_io
from .endpoints import CORRELATION_HEADER, CallerEndpoint
from .operations import operations

_CLAIMED = {}  # token -> Identity: a caller reuses its token for many calls
_CLAIMED_MAX = 10_000


class _ClaimedCall(Call):
    """The gateway's view of its caller: what the token *claims*, for log lines only. The gateway
    holds no key; the service it calls verifies the token and decides."""

    @property
    def identity(self):
        token = self.worker_ctx.data.get(AUTHORIZATION_KEY)
        if not token:
            raise Unauthenticated("no identity token")
        claimed = _CLAIMED.get(token)
        if claimed is None:
            try:
                claims = jwt.decode(token, options={"verify_signature": False})
            except jwt.InvalidTokenError as exc:
                raise Unauthenticated(f"unreadable identity token: {exc}") from exc
            if len(_CLAIMED) >= _CLAIMED_MAX:
                _CLAIMED.clear()
            claimed = _CLAIMED[token] = Identity(subject=str(claims.get("sub")), kind=str(claims.get("kind")))
        return claimed


class ClaimedCallContext(CallContext):
    """The platform's call context without a token service: the gateway verifies nothing."""

    def setup(self):
        self.tokens = None
        self.metrics = metrics_of(self.container)
        self.calls = {}

    def get_dependency(self, worker_ctx):
        call = _ClaimedCall(worker_ctx, None, self.metrics)
        self.calls[worker_ctx] = call
        return call


class OperationEndpoint(CallerEndpoint):
    """The HTTP entrypoint of one operation; every outcome is JSON or a problem document."""

    def __init__(self, operation, **kwargs):
        self.operation = operation
        super().__init__(operation.verb, operation.path.replace("{", "<").replace("}", ">"), **kwargs)

    def caller_token(self, request):
        return http_io.bearer_token(request)

    def answer(self, result, request):
        headers = {"Content-Type": "application/json", CORRELATION_HEADER: request.alliance_correlation_id}
        return Response(json.dumps(result, ensure_ascii=False), status=200, headers=headers)

    def refuse(self, exc, request):
        return problems.from_exception(exc, instance=request.path, correlation_id=request.alliance_correlation_id)


class _Fallback(HttpRequestHandler):
    """Any other path or method: 404, or 405 with ``Allow``, as problem details — never werkzeug's
    HTML page."""

    def __init__(self, **kwargs):
        super().__init__("*", "/<path:path>", **kwargs)

    def get_url_rule(self):
        return Rule("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])

    def handle_request(self, request):
        if getattr(self, "_routes", None) is None:
            self._routes = Map([p.get_url_rule() for p in self.server._providers if p is not self])
        try:
            allowed = self._routes.bind_to_environ(request.environ).allowed_methods()
        except Exception:
            allowed = []
        if allowed:
            return problems.problem(
                "method_not_allowed",
                f"{request.method} is not an operation of {request.path}",
                instance=request.path,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        return problems.problem("not_found", f"no operation at {request.path}", instance=request.path)


def _make_handler(op):
    def handler(self, request, **path_values):
        limit = int(self.call.worker_ctx.config.get("GATEWAY_MAX_BODY_BYTES", 1024 * 1024))
        kwargs = http_io.arguments(op, request, path_values, limit)
        request_id = http_io.request_id(op, request)
        return self.calls(
            op.service, op.method, kwargs, token=self.call.worker_ctx.data.get(AUTHORIZATION_KEY), request_id=request_id
        )

    handler.__name__ = handler.__qualname__ = op.operation_id.replace(".", "__")
    handler.__doc__ = f"{op.verb} {op.path} -> {op.service}.{op.method}"
    return OperationEndpoint.decorator(op, expected_exceptions=(AllianceError, problems.HttpProblem))(handler)


def served(cls):
    """One entrypoint per operation of the installed services."""
    for op in operations():
        handler = _make_handler(op)
        setattr(cls, handler.__name__, handler)
    return cls


def _static(name):
    return resources.files("alliance_gateway").joinpath("static", name)


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/docs/redoc.standalone.js"></script></body></html>
"""


# Nothing but the gateway itself: Redoc asks for its logo from a CDN, which the browser refuses.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'"
)


@console.served  # the staff console under /console: console/
@served
class GatewayService(PlatformService):
    """The HTTP front door: every RPC method under /v1, OpenAPI at /openapi.json, Open311 at /open311/v2,
    the staff console at /console."""

    name = "gateway"
    call = ClaimedCallContext()
    calls = CallerRpc(timeout_key="GATEWAY_RPC_TIMEOUT")

    @http("GET", "/openapi.json")
    @quiet
    def openapi_document(self, request):
        url = self.call.worker_ctx.config.get("GATEWAY_PUBLIC_URL") or "/"
        return 200, {"Content-Type": "application/json"}, json.dumps(openapi.document(url), ensure_ascii=False)

    @http("GET", "/docs")
    @quiet
    def reference_page(self, request):
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_POLICY}
        return 200, headers, DOCS_PAGE.format(title=openapi.TITLE)

    @http("GET", "/docs/redoc.standalone.js")
    @quiet
    def reference_script(self, request):
        headers = {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=86400"}
        return Response(_static("redoc.standalone.js").read_bytes(), status=200, headers=headers)

    @http("GET", "/")
    @quiet
    def home(self, request):
        return 302, {"Location": "/docs"}, ""

    # --- Open311 GeoReport v2 for the demand list: open311.py ----------------------------------

    @open311.route("GET", "/open311/discovery.<fmt>")
    def open311_discovery(self, request, fmt):
        return open311.get_discovery(self, request, fmt)

    @open311.route("GET", "/services.<fmt>")
    def open311_services(self, request, fmt):
        return open311.list_services(self, request, fmt)

    @open311.route("GET", "/services/<service_code>.<fmt>")
    def open311_service_definition(self, request, service_code, fmt):
        return open311.get_service_definition(self, request, service_code, fmt)

    @open311.route("POST", "/requests.<fmt>")
    def open311_submit_request(self, request, fmt):
        return open311.submit_request(self, request, fmt)

    @open311.route("GET", "/requests.<fmt>")
    def open311_requests(self, request, fmt):
        return open311.list_requests(self, request, fmt)

    @open311.route("GET", "/requests/<service_request_id>.<fmt>")
    def open311_request(self, request, service_request_id, fmt):
        return open311.get_request(self, request, service_request_id, fmt)

    @open311.fallback
    def open311_not_a_resource(self, request, path):
        """Never called: the fallback answers without a worker."""

    @_Fallback.decorator
    def not_an_operation(self, request, path):
        """Never called: the fallback answers without a worker."""
