"""The demand list (需求清单) as an Open311 GeoReport v2 endpoint, at ``/open311/v2/``.

GeoReport v2 (http://wiki.open311.org/GeoReport_v2) is what 12345-style hotline platforms and
their apps speak. Each resource comes as ``.json`` or ``.xml``; errors are the spec's list of
``{code, description}`` (``<errors><error>…``) with its HTTP statuses: 404 for what does not
exist, 403 for a missing or invalid key, 400 for any other request that cannot be carried out —
and, beyond the spec, 413/415 for a body the gateway refuses, 503/504 when the demand list cannot
be reached or answers too late (retry: a POST with the same ``Idempotency-Key``), 502 for an
answer the gateway cannot pass on. Never 500.

How the spec's words map onto ours (docs/OPEN311.md says it for callers):

- a *service* is a demand category, read from the tickets service's own ``submit_ticket`` schema
  (codes and Chinese names); English names, descriptions, groups and keywords are here;
- a *service request* is a ticket: ``service_request_id`` its reference number (DM-2026-000001),
  ``expected_datetime`` its SLA resolution deadline, ``agency_responsible`` the team or district
  handling it, ``status`` open or closed (``OPEN_STATES`` / ``CLOSED_STATES``) with ``status_notes``
  saying where it stands in our terms;
- ``jurisdiction_id`` is a district (``alliance_platform.inputs.DISTRICT_IDS``), optional;
- the ``api_key`` is the caller's own identity token (``Authorization: Bearer`` works too): every
  call reaches the tickets service *as the caller*, who sees and submits exactly what it may.

Open311 clients send form fields and query strings, not our JSON, so this module translates in
both directions and calls ``tickets.submit_ticket``, ``tickets.list_tickets``,
``tickets.get_ticket`` (and ``registry.list_districts`` / ``registry.get_merchant`` for the
address) through the gateway's ``CallerRpc``. ``service.py`` holds only the entrypoints.
"""

import contextlib
import heapq
import itertools
import json
import re
import time
from datetime import datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import eventlet
import jwt
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Map
from werkzeug.wrappers import Response

from alliance_contracts.tickets import STATUSES
from alliance_platform import errors
from alliance_platform.context import AUTHORIZATION_KEY
from alliance_platform.inputs import DISTRICT_IDS
from alliance_platform.paging import MAX_LIMIT

from . import http as http_io
from .endpoints import CORRELATION_HEADER, CallerEndpoint, correlation_id_of
from .open311_document import openapi_paths, openapi_tags  # noqa: F401 - openapi.py merges them
from .open311_terms import (
    CATEGORY_TEXT,
    CLOSED_STATES,
    DEFAULT_HANDLING_MODE,
    HANDLING_ATTRIBUTE,
    IDEMPOTENCY_KEY,
    MAX_IDS,
    MAX_RESULTS,
    MOMENT,
    OPEN_STATES,
    OTHER_GROUP,
    PREFIX,
    ROOT,
    SPECIFICATION,
    STATUS_NOTES,
    STATUS_OPTIONS,
    TEAM_NAMES,
    WINDOW,
    categories,
    handling_modes,
    title_limit,
)
from .problems import STATUSES as PROBLEM_STATUSES
from .problems import HttpProblem

CHANGESET = "2026-12-02T00:00:00Z"  # when this endpoint's behaviour last changed (discovery)
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
IDEMPOTENCY_HEADER = "Idempotency-Key"

# Calls in flight at once for one request (by ids, and the merchants' addresses).
FAN_OUT = 8
# The alliance's clock on the wall (Dezhou), for the times a notice tells people; the fields stay ISO 8601.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
# District names change with a migration, not per call.
DISTRICT_NAMES_TTL = 300.0

# What the tickets service calls a field, as an Open311 client knows it (for error messages).
FIELD_NAMES = {
    "category": "service_code",
    "merchant_id": "account_id",
    "attachments": "media_url",
    "title": "description",
    "handling_mode": f"attribute[{HANDLING_ATTRIBUTE}]",
    "district_id": "jurisdiction_id",
    "reference": "service_request_id",
    "request_id": IDEMPOTENCY_HEADER,
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# --- errors ----------------------------------------------------------------------------------


class Open311Error(errors.AllianceError):
    """A refusal in the spec's terms: an HTTP status and what the caller is told (logged as a
    refusal, like the services' typed errors; it never crosses the wire)."""

    code = "open311"

    def __init__(self, status, description, headers=None):
        super().__init__(description)
        self.status, self.descriptions, self.headers = status, [description], headers or {}


def _messages(fields, prefix=""):
    """``name: message`` for each message of a ValidationError's (maybe nested) fields."""
    for name, value in (fields or {}).items():
        label = f"{prefix}.{name}" if prefix else FIELD_NAMES.get(name, name)
        if isinstance(value, dict):
            yield from _messages(value, label)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from (_messages(item, label) if isinstance(item, dict) else [f"{label}: {item}"])
        else:
            yield f"{label}: {value}"


def _refusal(exc):
    """(status, descriptions, headers) for what a request raised."""
    if isinstance(exc, Open311Error):
        return exc.status, exc.descriptions, exc.headers
    if isinstance(exc, HttpProblem):
        return PROBLEM_STATUSES[exc.code][0], [exc.detail], exc.headers
    if isinstance(exc, errors.ValidationError):
        return 400, [exc.message, *_messages(exc.fields)], {}
    if isinstance(exc, errors.Unauthenticated):
        return 403, [f"missing or invalid api_key (the caller's identity token): {exc.message}"], {}
    if isinstance(exc, errors.Forbidden):
        return 403, [exc.message or "the api_key's holder may not do this"], {}
    if isinstance(exc, errors.NotFound):
        return 404, [exc.message or "not found"], {}
    if isinstance(exc, errors.Conflict):
        return 400, [exc.message], {}
    if isinstance(exc, errors.ServiceUnavailable):
        return 503, [f"the demand list cannot be reached now: {exc.message}"], {"Retry-After": "5"}
    if isinstance(exc, errors.ServiceTimeout):
        return 504, [f"the demand list gave no answer in time (a request may or may not be made): {exc.message}"], {}
    return 502, [f"the demand list could not answer: {type(exc).__name__}"], {}


def error_response(exc, fmt, correlation_id=None):
    status, descriptions, headers = _refusal(exc)
    items = [{"code": status, "description": text} for text in descriptions if text]
    return _respond(fmt if fmt in CONTENT_TYPES else "json", "errors", items, status, headers, correlation_id)


# --- rendering -------------------------------------------------------------------------------

# The element of each item of a list, in XML (the spec's Spark convention).
_ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _xml_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _xml_fill(element, value):
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _xml_fill(ElementTree.SubElement(element, _ITEM_TAGS.get(element.tag, "item")), item)
    else:
        element.text = _xml_text(value)


def render(fmt, root, data):
    """The body of ``data`` (a list of items, or one object) under ``root`` in ``fmt``."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False)
    element = ElementTree.Element(root)
    _xml_fill(element, data)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(element, encoding="unicode")


def _respond(fmt, root, data, status=200, headers=None, correlation_id=None):
    all_headers = {"Content-Type": CONTENT_TYPES[fmt], **(headers or {})}
    if correlation_id:
        all_headers[CORRELATION_HEADER] = correlation_id
    return Response(render(fmt, root, data).encode("utf-8"), status=status, headers=all_headers)


def _at(text):
    return datetime.fromisoformat(text)


def _local(text):
    """A moment as people in the districts read it: 2026-12-15 10:00 (UTC+8)."""
    return f"{_at(text).astimezone(LOCAL_TIME):%Y-%m-%d %H:%M} (UTC+8)"


def _format(fmt):
    if fmt not in CONTENT_TYPES:
        raise Open311Error(404, f"no format {fmt!r}: this endpoint answers in .json and .xml")
    return fmt


# --- the HTTP side ---------------------------------------------------------------------------


def _format_of(request):
    fmt = (request.path_values or {}).get("fmt")
    if fmt is None:
        fmt = request.path.rsplit(".", 1)[-1] if "." in request.path.rsplit("/", 1)[-1] else "json"
    return fmt if fmt in CONTENT_TYPES else "json"


def _read_form(request, limit):
    """Parse a POST's form within the body limit (413 beyond it, 415 for what is not a form)."""
    length = request.content_length
    if length is not None and length > limit:
        raise HttpProblem("payload_too_large", f"the body is {length} bytes; at most {limit} are taken")
    if request.mimetype not in FORM_TYPES and (length or request.headers.get("Transfer-Encoding")):
        raise HttpProblem(
            "unsupported_media_type",
            f"send the request as application/x-www-form-urlencoded, not {request.content_type or 'none'}",
        )
    request.max_content_length = limit
    request.max_form_memory_size = limit
    try:
        request.form  # noqa: B018 - parsed now, within the limits, or refused
    except RequestEntityTooLarge as exc:
        raise HttpProblem("payload_too_large", f"the body is larger than {limit} bytes") from exc


def _param(values, name):
    """A parameter's text as sent, None when absent or empty (the spec: "a null parameter should
    be treated as equivalent to a non-declared parameter")."""
    return values.get(name) or None


def _token(request):
    """The caller's token: ``Authorization: Bearer``, else the spec's ``api_key``."""
    token = http_io.bearer_token(request)
    if token:
        return token
    return _param(request.args, "api_key") or (_param(request.form, "api_key") if request.method == "POST" else None)


class Open311Endpoint(CallerEndpoint):
    """An Open311 resource: the caller's token on the worker's context, every refusal in the
    spec's error format and the resource's format, a correlation id on every answer."""

    def caller_token(self, request):
        if request.method == "POST":
            _read_form(request, int(self.container.config.get("GATEWAY_MAX_BODY_BYTES", 1024 * 1024)))
        return _token(request)

    def answer(self, result, request):
        result.headers[CORRELATION_HEADER] = request.alliance_correlation_id
        return result

    def refuse(self, exc, request):
        return error_response(exc, _format_of(request), request.alliance_correlation_id)


class Open311Fallback(HttpRequestHandler):
    """Any other path under /open311: 404, or 405 with ``Allow``, in the spec's error format."""

    METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

    def __init__(self, **kwargs):
        super().__init__(",".join(self.METHODS), ROOT + "/<path:path>", **kwargs)

    def handle_request(self, request):
        correlation_id, fmt = correlation_id_of(request), _format_of(request)
        if getattr(self, "_routes", None) is None:
            own = [p for p in self.server._providers if isinstance(p, Open311Endpoint)]
            self._routes = Map([p.get_url_rule() for p in own])
        try:
            allowed = self._routes.bind_to_environ(request.environ).allowed_methods()
        except Exception:
            allowed = []
        if allowed:
            refusal = Open311Error(
                405, f"{request.method} is not a method of {request.path}", {"Allow": ", ".join(sorted(allowed))}
            )
        else:
            refusal = Open311Error(404, f"no Open311 resource at {request.path}")
        return error_response(refusal, fmt, correlation_id)


def route(verb, path):
    """The decorator of one Open311 entrypoint at ``PREFIX + path`` (or ``ROOT`` for discovery)."""
    full = path if path.startswith(ROOT) else PREFIX + path
    return Open311Endpoint.decorator(verb, full, expected_exceptions=(errors.AllianceError, HttpProblem))


fallback = Open311Fallback.decorator


# --- the calls -------------------------------------------------------------------------------


class _Caller:
    """Calls as the request's caller (its own token), from the worker's greenthread or others."""

    def __init__(self, gateway):
        self._calls = gateway.calls
        self.token = gateway.call.worker_ctx.data.get(AUTHORIZATION_KEY)

    def __call__(self, service, method, request_id=None, **kwargs):
        return self._calls(service, method, kwargs, token=self.token, request_id=request_id)

    def claims(self):
        """What the token says of its holder (unverified: only to fill in the caller's own
        merchant; the tickets service verifies the token and decides)."""
        if not self.token:
            raise Open311Error(403, "an api_key is required: the caller's identity token (or Authorization: Bearer)")
        try:
            return jwt.decode(self.token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise Open311Error(403, f"invalid api_key: not an identity token ({exc})") from exc


def _jurisdiction(values):
    district = _param(values, "jurisdiction_id")
    if district is not None and district not in DISTRICT_IDS:
        raise Open311Error(
            404, f"jurisdiction_id {district!r} was not found; the jurisdictions are {', '.join(sorted(DISTRICT_IDS))}"
        )
    return district


def _category(code, status=404):
    if code not in categories():
        raise Open311Error(status, f"service_code {code!r} was not found; see services.json")
    return code


# --- services --------------------------------------------------------------------------------


def _service(code, name):
    text = CATEGORY_TEXT.get(code, {})
    english = text.get("en", code.replace("_", " "))
    about = f"{name}：{text['zh_about']} · {english}: {text['en_about']}" if text else f"{name} · {english}"
    return {
        "service_code": code,
        "service_name": name,
        "description": about,
        "metadata": False,
        "type": "realtime",
        "keywords": text.get("keywords", f"{name}, {english}"),
        "group": text.get("group", OTHER_GROUP),
    }


def _handling_attribute():
    modes = handling_modes()
    return {
        "variable": True,
        "code": HANDLING_ATTRIBUTE,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": f"不选即为帮办 · {DEFAULT_HANDLING_MODE} unless chosen",
        "order": 1,
        "description": "办理方式：即办（当场办结）或帮办（代为办理） · How it is handled: on the spot or assisted",
        "values": [{"key": key, "name": f"{name} {key.replace('_', ' ')}"} for key, name in modes.items()],
    }


def get_discovery(gateway, request, fmt):
    fmt = _format(fmt)
    base = request.host_url.rstrip("/") + PREFIX
    answer = {
        "changeset": CHANGESET,
        "contact": "天衢新区商圈党建联盟 党群服务中心 · the alliance's service centre",
        "key_service": "api_key: the caller's identity token (alliance token …), or Authorization: Bearer",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": [CONTENT_TYPES["xml"].split(";")[0], CONTENT_TYPES["json"].split(";")[0]],
            }
        ],
    }
    return _respond(fmt, "discovery", answer)


def list_services(gateway, request, fmt):
    fmt = _format(fmt)
    _jurisdiction(request.args)
    return _respond(fmt, "services", [_service(code, name) for code, name in categories().items()])


def get_service_definition(gateway, request, service_code, fmt):
    fmt = _format(fmt)
    _jurisdiction(request.args)
    code = _category(service_code)
    return _respond(fmt, "service_definition", {"service_code": code, "attributes": [_handling_attribute()]})


# --- POST requests ---------------------------------------------------------------------------


def _idempotency_key(request):
    """The caller's ``Idempotency-Key``, checked as the gateway's other commands check it."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise Open311Error(400, f"{IDEMPOTENCY_HEADER} must be 1 to 128 printable ASCII characters")
    return key


def _title(description):
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    limit = title_limit()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def submit_request(gateway, request, fmt):
    """A merchant's demand: ``tickets.submit_ticket`` as the caller."""
    fmt = _format(fmt)
    form = request.form
    values = {**request.args.to_dict(), **form.to_dict()}
    for name, value in values.items():
        if "\x00" in value:
            raise Open311Error(400, f"{name} may not contain a NUL character")
    caller = _Caller(gateway)
    claims = caller.claims()
    request_id = _idempotency_key(request)
    code = _param(values, "service_code")
    if code is None:
        raise Open311Error(400, "service_code was not provided; see services.json")
    _category(code)
    district = _jurisdiction(values)
    description = _param(values, "description")
    if description is None or not description.strip():
        raise Open311Error(400, "description was not provided: say what the shop needs")
    merchant_id = _param(values, "account_id") or claims.get("merchant_id")
    if merchant_id is None:
        raise Open311Error(400, "account_id was not provided: the merchant the demand is for")
    if district is not None:
        merchant = caller("registry", "get_merchant", merchant_id=merchant_id)
        if merchant["district_id"] != district:
            raise Open311Error(400, f"the merchant trades in {merchant['district_id']}, not in {district}")
    media_url = _param(values, "media_url")
    answer = caller(
        "tickets",
        "submit_ticket",
        request_id=request_id,
        merchant_id=merchant_id,
        category=code,
        title=_title(description),
        description=description,
        handling_mode=_param(values, f"attribute[{HANDLING_ATTRIBUTE}]") or DEFAULT_HANDLING_MODE,
        attachments=[media_url] if media_url else [],
    )
    reference, due = answer["reference"], _local(answer["resolution_due_at"])
    notice = f"已受理，编号 {reference}，承诺 {due} 前办结 · Received as {reference}, to be resolved by {due}"
    created = {"service_request_id": reference, "service_notice": notice, "account_id": merchant_id}
    return _respond(fmt, "service_requests", [created])


# --- GET requests ----------------------------------------------------------------------------


def _moment(text, name):
    value = None
    if MOMENT.match(text):
        with contextlib.suppress(ValueError):  # a day or an hour that does not exist
            value = datetime.fromisoformat(text.upper())
    if value is None:
        raise Open311Error(400, f"{name} must be a w3 date and time with its zone, e.g. 2026-01-01T00:00:00Z")
    return value


def _window(values, now):
    """(start, end) of requested_datetime; end None: up to now. The spec's default is the last
    90 days, and a window may span no more."""
    start, end = (_param(values, name) for name in ("start_date", "end_date"))
    start = _moment(start, "start_date") if start else None
    end = _moment(end, "end_date") if end else None
    try:
        if start and end:
            if end < start:
                raise Open311Error(400, "end_date is before start_date")
            if end - start > WINDOW:
                raise Open311Error(400, f"start_date and end_date may not span more than {WINDOW.days} days")
            return start, end
        if start:
            return start, start + WINDOW
        if end:
            return end - WINDOW, end
        return now - WINDOW, None
    except OverflowError as exc:
        raise Open311Error(400, "start_date or end_date is out of range") from exc


def _listed(values, name, allowed):
    """The parts of a comma-delimited parameter, each once, each one of ``allowed``."""
    text = _param(values, name)
    parts = list(dict.fromkeys(text.split(","))) if text else []
    for part in parts:
        if part not in allowed:
            raise Open311Error(400, f"{name} {part!r} is not one of {', '.join(allowed)}")
    return parts


def _references(values):
    """service_request_id: reference numbers, comma delimited (spaces and empty parts ignored)."""
    text = _param(values, "service_request_id") or ""
    references = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if len(references) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id at once")
    return references


def _stream(caller, filters, limit, start, end):
    """Tickets matching ``filters`` submitted in [start, end], newest first (``list_tickets``
    pages)."""
    window = {"submitted_from": start.isoformat()} | ({"submitted_until": end.isoformat()} if end else {})
    cursor = None
    while True:
        page = caller(
            "tickets", "list_tickets", **filters, **window, limit=limit, **({"cursor": cursor} if cursor else {})
        )
        for item in page["items"]:
            yield (_at(item["submitted_at"]), item["ticket_id"]), item
        cursor = page["next_cursor"]
        if not cursor:
            return


def _search(caller, codes, wanted, window, district):
    """``list_tickets`` for the query's codes, statuses, district and window: one stream per
    combination the tickets service can filter by, merged newest first, at most MAX_RESULTS."""
    start, end = window
    states = [s for s in STATUSES if ("open" if s in OPEN_STATES else "closed") in wanted] if wanted else []
    combos = list(
        itertools.product(
            codes if codes and len(codes) < len(categories()) else [None],
            states if states and len(states) < len(STATUSES) else [None],
        )
    )
    limit = max(20, min(MAX_LIMIT, MAX_RESULTS // len(combos) + 1))
    streams = []
    for category, state in combos:
        filters = {k: v for k, v in (("category", category), ("status", state), ("district_id", district)) if v}
        streams.append(_stream(caller, filters, limit, start, end))
    found = []
    for _, item in heapq.merge(*streams, key=lambda pair: pair[0], reverse=True):
        if len(found) >= MAX_RESULTS:
            break
        found.append(item)
    return found


def _by_references(caller, references, district):
    """The tickets named, in the order given; those the caller may not see, or that do not exist,
    are left out."""

    def one(reference):
        try:
            return caller("tickets", "get_ticket", reference=reference)
        except (errors.NotFound, errors.Forbidden, errors.ValidationError):
            return None

    pool = eventlet.GreenPool(FAN_OUT)
    found = [ticket for ticket in pool.imap(one, references) if ticket is not None]
    return [t for t in found if district is None or t["district_id"] == district]


_district_names = {"names": None, "until": 0.0}


def _names_of_districts(caller):
    """{district id: name} from the registry (cached: public facts that change by migration)."""
    if _district_names["names"] is None or time.monotonic() > _district_names["until"]:
        try:
            listed = caller("registry", "list_districts")
        except errors.AllianceError:
            return {}
        _district_names.update(names={d["id"]: d["name"] for d in listed}, until=time.monotonic() + DISTRICT_NAMES_TTL)
    return _district_names["names"]


def _places(caller, tickets):
    """{merchant_id: address} of the tickets' merchants: the district's name and the shop's unit
    (the registry's, as the caller may see it; the district alone when it cannot be read)."""
    names = _names_of_districts(caller)
    merchants = {t["merchant_id"]: t["district_id"] for t in tickets}

    def unit_of(merchant_id):
        try:
            return caller("registry", "get_merchant", merchant_id=merchant_id).get("unit_no")
        except errors.AllianceError:
            return None

    pool = eventlet.GreenPool(FAN_OUT)
    units = dict(zip(merchants, pool.imap(unit_of, merchants), strict=True))
    places = {}
    for merchant_id, district in merchants.items():
        name = names.get(district, district)
        places[merchant_id] = f"{name} {units[merchant_id]}" if units[merchant_id] else name
    return places


def _agency(ticket, names):
    """Who handles it: the team it is routed to, else the unit asked or the district; with the
    name of the person who took it on (项目责任人) when the view names them."""
    team = ticket.get("team")
    agency = TEAM_NAMES.get(team, team) if team else ticket.get("unit") or names.get(ticket["district_id"])
    agency = agency or ticket["district_id"]
    person = (ticket.get("responsible") or {}).get("name")
    return f"{agency}（项目责任人：{person}）" if person else agency


def _notes(ticket):
    note = STATUS_NOTES.get(ticket["status"], ticket["status"])
    detail = ticket.get("paused_because") if ticket["status"] == "waiting_on_merchant" else ticket.get("resolution")
    return f"{note}：{detail}" if detail else note


def service_request(ticket, place, names):
    """A ticket (a ``list_tickets`` item or a ``get_ticket`` view) as an Open311 service request."""
    status = "closed" if ticket["status"] in CLOSED_STATES else "open"
    code = ticket["category"]
    due = ticket.get("resolution_due_at") or ticket.get("promised_by")
    moments = [
        ticket[key]
        for key in ("submitted_at", "accepted_at", "sla_paused_at", "resolved_at", "closed_at")
        if ticket.get(key)
    ]
    attachments = ticket.get("attachments") or []
    return {
        "service_request_id": ticket["reference"],
        "status": status,
        "status_notes": _notes(ticket),
        "service_name": categories().get(code, code),
        "service_code": code,
        "description": ticket.get("description") or ticket["title"],
        "agency_responsible": _agency(ticket, names),
        "service_notice": None
        if status == "closed"
        else f"承诺 {_local(due)} 前办结 · to be resolved by {_local(due)}",
        "requested_datetime": ticket["submitted_at"],
        "updated_datetime": max(moments, key=_at),
        "expected_datetime": due,
        "address": place,
        "zipcode": "",
        "media_url": attachments[0] if attachments else None,
    }


def _answer_requests(caller, fmt, tickets):
    places = _places(caller, tickets) if tickets else {}
    names = _names_of_districts(caller) if tickets else {}
    items = [service_request(t, places[t["merchant_id"]], names) for t in tickets]
    return _respond(fmt, "service_requests", items)


def list_requests(gateway, request, fmt):
    """GET requests: by ``service_request_id`` (which overrides every other argument), or by
    service code, status and window."""
    fmt = _format(fmt)
    caller = _Caller(gateway)
    values = request.args
    # Every argument is checked, though service_request_id overrides the others.
    references = _references(values)
    codes = _listed(values, "service_code", tuple(categories()))
    wanted = _listed(values, "status", STATUS_OPTIONS)
    window = _window(values, gateway.clock.now())
    district = _jurisdiction(values)
    if references:
        tickets = _by_references(caller, references, district)
    else:
        tickets = _search(caller, codes, wanted, window, district)
    return _answer_requests(caller, fmt, tickets)


def get_request(gateway, request, service_request_id, fmt):
    """GET requests/{id}: the one request, as a list of one."""
    fmt = _format(fmt)
    caller = _Caller(gateway)
    district = _jurisdiction(request.args)
    try:
        ticket = caller("tickets", "get_ticket", reference=service_request_id)
    except errors.ValidationError as exc:
        raise Open311Error(404, f"service_request_id {service_request_id!r} was not found") from exc
    if district is not None and ticket["district_id"] != district:
        raise Open311Error(404, f"service_request_id {service_request_id!r} was not found in {district}")
    return _answer_requests(caller, fmt, [ticket])
