"""Errors as RFC 9457 problem details (``application/problem+json``).

Each typed error of the platform has its status: ``ValidationError`` 400 (with the messages of each
field in ``errors``), ``Unauthenticated`` 401, ``Forbidden`` 403, ``NotFound`` 404, ``Conflict``
409, ``ServiceUnavailable`` 503, ``ServiceTimeout`` 504; what the HTTP layer itself refuses (a body
that is not JSON, the wrong content type, too large, an unknown path or method) has its own 4xx.
A service that answers with something else is the gateway's 502: never the caller's fault, never a
bare 500 page.
"""

import json

from werkzeug.wrappers import Response

from alliance_platform import errors

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:alliance:problem:"

# status, title per problem code
STATUSES = {
    errors.ValidationError.code: (400, "Invalid input"),
    errors.Unauthenticated.code: (401, "Not authenticated"),
    errors.Forbidden.code: (403, "Forbidden"),
    errors.NotFound.code: (404, "Not found"),
    errors.Conflict.code: (409, "Conflict"),
    errors.ServiceUnavailable.code: (503, "Service unavailable"),
    errors.ServiceTimeout.code: (504, "Service timeout"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "bad_gateway": (502, "Bad gateway"),
}


class HttpProblem(Exception):
    """A refusal of the HTTP layer, before any service is called."""

    def __init__(self, code, detail, headers=None):
        super().__init__(detail)
        self.code, self.detail, self.headers = code, detail, headers or {}


def problem(code, detail, *, instance=None, correlation_id=None, fields=None, headers=None):
    status, title = STATUSES[code]
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    if correlation_id:
        body["correlation_id"] = correlation_id
    if fields:
        body["errors"] = fields
    all_headers = {"Content-Type": CONTENT_TYPE, **(headers or {})}
    if correlation_id:
        all_headers["X-Correlation-Id"] = correlation_id
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=all_headers)


def from_exception(exc, *, instance=None, correlation_id=None):
    """The problem response for what a call raised."""
    if isinstance(exc, HttpProblem):
        return problem(exc.code, exc.detail, instance=instance, correlation_id=correlation_id, headers=exc.headers)
    if isinstance(exc, errors.AllianceError) and exc.code in STATUSES:
        fields = getattr(exc, "fields", None) or None
        return problem(
            exc.code, exc.message or str(exc), instance=instance, correlation_id=correlation_id, fields=fields
        )
    return problem(
        "bad_gateway",
        f"the service could not answer: {type(exc).__name__}",
        instance=instance,
        correlation_id=correlation_id,
    )
