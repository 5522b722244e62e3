"""From an HTTP request to the arguments of an RPC method, and from its answer to a response.

Path segments fill the route's ``{fields}``; a ``GET`` takes the other fields from the query
string (a list field repeats its name), any other verb from a JSON object in the body. Text from
a path or a query string is turned into the JSON type of its field (``"2"`` → 2 for a number,
``"true"`` → true) and nothing else is done to it: the service's own schema loads and validates
every value, so the gateway cannot disagree with the RPC method about what is valid.
"""

import json
import re

from marshmallow import fields
from werkzeug.exceptions import RequestEntityTooLarge

from alliance_platform.errors import Unauthenticated, ValidationError

from .problems import HttpProblem

JSON_TYPES = ("application/json",)


def bearer_token(request):
    """The token of ``Authorization: Bearer <token>``, or None without one (the service then
    answers 401)."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated('the Authorization header must be "Bearer <token>"')
    return token.strip()


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def coerce(field, text):
    """A value from a path or a query string, as the JSON value its field takes; text that is not
    one is passed on unchanged, for the service to refuse with its own message."""
    if isinstance(field, fields.List):
        field = field.inner
    try:
        if isinstance(field, fields.Boolean):
            lowered = text.lower()
            return True if lowered in _TRUE else False if lowered in _FALSE else text
        if isinstance(field, fields.Integer):
            return int(text, 10) if text.strip().lstrip("+-").isdigit() else text
        if isinstance(field, fields.Float | fields.Decimal):
            return float(text)
    except ValueError:
        return text
    return text


def _query_arguments(operation, request):
    known = operation.fields()
    data = {}
    elsewhere = [name for name in request.args if name in operation.other_path_params]
    if elsewhere:
        raise ValidationError(
            "not a parameter of this operation",
            {name: ["given in the path of another operation"] for name in elsewhere},
        )
    for name in request.args:
        field = known.get(name)
        values = [coerce(field, v) for v in request.args.getlist(name)] if field else request.args.getlist(name)
        data[name] = values if operation.is_list(name) or len(values) > 1 else values[0]
    return data


def _body_arguments(request, limit):
    length = request.content_length
    if length is not None and length > limit:
        raise HttpProblem("payload_too_large", f"the body is {length} bytes; this operation takes at most {limit}")
    request.max_content_length = limit
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge as exc:
        raise HttpProblem("payload_too_large", f"the body is larger than {limit} bytes") from exc
    if not raw.strip():
        return {}
    mimetype = request.mimetype or ""
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise HttpProblem(
            "unsupported_media_type",
            f"the body must be JSON (Content-Type: application/json), not {request.content_type or 'none'}",
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("the body is not valid JSON", {"_body": [str(exc)]}) from exc
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", {"_body": [f"got {type(data).__name__}"]})
    return data


_REQUEST_ID = re.compile(r"^[\x20-\x7e]{1,128}$")


def request_id(operation, request):
    """The caller's ``Idempotency-Key`` of a command (1 to 128 printable ASCII characters), or None."""
    key = request.headers.get("Idempotency-Key")
    if key is None or not operation.command:
        return None
    if not _REQUEST_ID.match(key):
        raise ValidationError("invalid Idempotency-Key", {"Idempotency-Key": ["1 to 128 printable ASCII characters"]})
    return key


def arguments(operation, request, path_values, max_body_bytes):
    """The keyword arguments of the RPC call this request makes."""
    if operation.verb == "GET":
        data = _query_arguments(operation, request)
    else:
        limit = max(max_body_bytes, operation.max_request_bytes or 0)
        data = _body_arguments(request, limit)
        if request.args:
            raise ValidationError(
                "this operation takes its input in the body, not in the query string",
                {name: ["unknown query parameter"] for name in request.args},
            )
    for name in operation.caller_address_fields():
        data[name] = request.remote_addr  # never what the caller says it is
    known = operation.fields()
    for name, text in path_values.items():
        value = coerce(known.get(name), text)
        if name in data and data[name] != value:
            raise ValidationError("the body contradicts the path", {name: [f"the path says {text!r}"]})
        data[name] = value
    return data
