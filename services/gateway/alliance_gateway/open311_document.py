"""The Open311 endpoint's resources in the gateway's OpenAPI 3.1 document: the JSON form of each
(the XML one answers at the same path with ``.xml``), its parameters, the shapes of its answers and
its errors — what ``open311.py`` does, said for schemathesis and for callers."""

from alliance_platform.inputs import DISTRICT_IDS, MAX_URL_LENGTH

from .open311_terms import (
    DEFAULT_HANDLING_MODE,
    HANDLING_ATTRIBUTE,
    MAX_IDS,
    MAX_RESULTS,
    MOMENT_PATTERN,
    PREFIX,
    STATUS_OPTIONS,
    categories,
    handling_modes,
    listed_pattern,
)

TAG = "open311"
_NULLABLE_TEXT = {"type": ["string", "null"]}
_MOMENT = {"type": "string", "format": "date-time"}
ERRORS_SCHEMA = {
    "type": "array",
    "description": "GeoReport v2 errors: each with the HTTP status as its code",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {
            "code": {"type": "integer", "minimum": 400, "maximum": 599},
            "description": {"type": "string"},
        },
    },
}
ERROR_TEXTS = {
    "400": "The request cannot be carried out: a parameter is missing or wrong, or the demand list refused it",
    "403": "No api_key (the caller's identity token), an invalid one, or one that does not allow this",
    "404": "No such service code, request, jurisdiction or format",
    "413": "The body is larger than the gateway takes",
    "415": "The body is not a form (application/x-www-form-urlencoded)",
    "502": "The demand list answered with something the gateway could not pass on",
    "503": "The demand list cannot be reached now (retry later)",
    "504": "The demand list gave no answer in time (a POST may or may not have made the request: "
    "retry it with the same Idempotency-Key)",
}


def _service_schema():
    return {
        "type": "object",
        "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
        "properties": {
            "service_code": {"type": "string", "enum": list(categories())},
            "service_name": {"type": "string", "description": "the category's Chinese name"},
            "description": {"type": "string", "description": "what it covers, in Chinese and in English"},
            "metadata": {"type": "boolean", "const": False},
            "type": {"type": "string", "const": "realtime"},
            "keywords": {"type": "string"},
            "group": {"type": "string"},
        },
    }


def _definition_schema():
    value = {
        "type": "object",
        "required": ["key", "name"],
        "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
    }
    attribute = {
        "type": "object",
        "required": [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values",
        ],
        "properties": {
            "variable": {"type": "boolean"},
            "code": {"type": "string"},
            "datatype": {
                "type": "string",
                "enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"],
            },
            "required": {"type": "boolean"},
            "datatype_description": _NULLABLE_TEXT,
            "order": {"type": "integer", "minimum": 1},
            "description": {"type": "string"},
            "values": {"type": "array", "items": value},
        },
    }
    return {
        "type": "object",
        "required": ["service_code", "attributes"],
        "properties": {
            "service_code": {"type": "string", "enum": list(categories())},
            "attributes": {"type": "array", "items": attribute},
        },
    }


def _request_schema():
    text = {"type": "string"}
    return {
        "type": "object",
        "required": [
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "zipcode",
            "media_url",
        ],
        "properties": {
            "service_request_id": {
                "type": "string",
                "description": "the ticket's reference number",
                "examples": ["DM-2026-000001"],
            },
            "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": {**text, "description": "where the ticket stands, in Chinese and in English"},
            "service_name": text,
            "service_code": {"type": "string", "enum": list(categories())},
            "description": {**text, "description": "the demand (in a list without ids: its first line, the title)"},
            "agency_responsible": {
                **text,
                "description": "the team or district handling it, and its owner once taken on",
            },
            "service_notice": {**_NULLABLE_TEXT, "description": "the promise made, while it is open"},
            "requested_datetime": _MOMENT,
            "updated_datetime": _MOMENT,
            "expected_datetime": {**_MOMENT, "description": "the SLA deadline of its resolution"},
            "address": {**text, "description": "the district's name and the shop's unit"},
            "zipcode": {**text, "const": ""},
            "media_url": _NULLABLE_TEXT,
        },
    }


def _created_schema():
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {
            "type": "object",
            "required": ["service_request_id", "service_notice", "account_id"],
            "properties": {
                "service_request_id": {"type": "string", "examples": ["DM-2026-000001"]},
                "service_notice": {"type": "string"},
                "account_id": {"type": "string", "description": "the merchant the demand is for"},
            },
        },
    }


_HEADERS = {"X-Correlation-Id": {"$ref": "#/components/headers/CorrelationId"}}


def _responses(schema, statuses, what="The answer"):
    out = {"200": {"description": what, "headers": _HEADERS, "content": {"application/json": {"schema": schema}}}}
    for status in statuses:
        out[status] = {
            "description": ERROR_TEXTS[status],
            "headers": _HEADERS,
            "content": {"application/json": {"schema": ERRORS_SCHEMA}},
        }
    return out


def _query(name, schema, description):
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _jurisdiction_parameter():
    return _query(
        "jurisdiction_id",
        {"type": "string", "enum": ["", *sorted(DISTRICT_IDS)]},
        "The district (optional, empty or absent: all the caller may see); another is 404",
    )


def _api_key_parameter():
    return _query("api_key", {"type": "string"}, "The caller's identity token, when not sent as Authorization: Bearer")


_CORRELATION = {"$ref": "#/components/parameters/CorrelationId"}
_CALLERS = "Who may call it: anyone the tickets service lets (a merchant its own demands; staff their districts'). "


def _operation(operation_id, summary, description, parameters, responses, security=None, **extra):
    operation = {
        "operationId": operation_id,
        "tags": [TAG],
        "summary": summary,
        "description": description,
        "parameters": [*parameters, _CORRELATION],
        "responses": responses,
        **extra,
    }
    if security is not None:
        operation["security"] = security
    return operation


def openapi_paths():
    """The JSON resources of the endpoint, as OpenAPI 3.1 paths (XML: the same at ``.xml``). The
    service discovery document (``/open311/discovery.json``) is the spec's, not an operation of
    the demand list: docs/OPEN311.md names it."""
    xml_too = " The same resource at `.xml` answers `text/xml` (the spec's elements)."
    code_param = {
        "name": "service_code",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(categories())},
    }
    id_param = {
        "name": "service_request_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^DM-[0-9]{4}-[0-9]{6}$"},
        "description": "The ticket's reference number",
    }
    form = {
        "type": "object",
        "required": ["service_code", "description"],
        "properties": {
            "service_code": {"type": "string", "enum": list(categories())},
            "description": {
                "type": "string",
                "minLength": 1,
                "maxLength": 4000,
                "description": "The demand; its first line becomes the ticket's title",
            },
            "jurisdiction_id": {"type": "string", "enum": ["", *sorted(DISTRICT_IDS)]},
            "account_id": {
                "type": "string",
                "description": "The id of the merchant the demand is for (a merchant's own token names it already)",
            },
            f"attribute[{HANDLING_ATTRIBUTE}]": {
                "type": "string",
                "enum": ["", *handling_modes()],
                "description": f"即办 on the spot, or 帮办 assisted (the default: {DEFAULT_HANDLING_MODE})",
            },
            "media_url": {
                "type": "string",
                "maxLength": MAX_URL_LENGTH,
                "description": "Kept as the ticket's attachment (a link or a file's id)",
            },
            "api_key": {"type": "string", "description": "The caller's identity token"},
            **{
                name: {"type": "string", "description": "Accepted and not used: the register knows the shop"}
                for name in (
                    "email",
                    "first_name",
                    "last_name",
                    "phone",
                    "device_id",
                    "lat",
                    "long",
                    "address_string",
                    "address_id",
                )
            },
        },
    }
    window = (
        "ISO 8601 with its zone (e.g. 2026-01-01T00:00:00Z); the window is the last 90 days by default, "
        "and at most 90 days"
    )
    moment = {"type": "string", "pattern": f"^({MOMENT_PATTERN[1:-1]})?$", "examples": ["2026-01-01T00:00:00Z"]}
    list_params = [
        _jurisdiction_parameter(),
        _query(
            "service_request_id",
            {"type": "string"},
            f"Reference numbers, comma delimited (at most {MAX_IDS}); overrides every other argument, and"
            " those that are not the caller's to see or not found are left out",
        ),
        _query(
            "service_code",
            {"type": "string", "pattern": listed_pattern(categories())},
            "Service codes, comma delimited",
        ),
        _query("start_date", moment, "Earliest requested_datetime: " + window),
        _query("end_date", moment, "Latest requested_datetime: " + window),
        _query(
            "status",
            {"type": "string", "pattern": listed_pattern(STATUS_OPTIONS)},
            "open, closed, or both (comma delimited)",
        ),
        _api_key_parameter(),
    ]
    idempotency = {"$ref": "#/components/parameters/IdempotencyKey"}
    return {
        f"{PREFIX}/services.json": {
            "get": _operation(
                "open311.services",
                "The demand categories (GeoReport v2 services)",
                "Every category of the demand list (需求清单): its Chinese name, what it covers in Chinese and "
                "English, its group and keywords. No identity needed." + xml_too,
                [_jurisdiction_parameter()],
                _responses({"type": "array", "items": _service_schema()}, ["404"]),
                security=[],
            )
        },
        f"{PREFIX}/services/{{service_code}}.json": {
            "get": _operation(
                "open311.service_definition",
                "A category's definition (its attributes)",
                "Metadata is false for every category: its one attribute, the handling mode, is optional." + xml_too,
                [code_param, _jurisdiction_parameter()],
                _responses(_definition_schema(), ["404"]),
                security=[],
            )
        },
        f"{PREFIX}/requests.json": {
            "get": _operation(
                "open311.requests",
                "Demands (GeoReport v2 service requests)",
                _CALLERS + f"Newest first, at most {MAX_RESULTS}. RPC: `tickets.list_tickets` (by "
                "service_request_id: `tickets.get_ticket`)." + xml_too,
                list_params,
                _responses({"type": "array", "items": _request_schema()}, ["400", "403", "404", "502", "503", "504"]),
            ),
            "post": _operation(
                "open311.submit_request",
                "Submit a demand (a GeoReport v2 service request)",
                "A merchant's demand, as a form. Who may call it: the merchant (its token), or staff of its district "
                "naming it in account_id. RPC: `tickets.submit_ticket` (a command: retry it with the same "
                "Idempotency-Key)." + xml_too,
                [idempotency],
                _responses(_created_schema(), ["400", "403", "404", "413", "415", "502", "503", "504"]),
                requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
            ),
        },
        f"{PREFIX}/requests/{{service_request_id}}.json": {
            "get": _operation(
                "open311.request",
                "One demand (a list of one, as the spec has it)",
                _CALLERS + "RPC: `tickets.get_ticket`." + xml_too,
                [id_param, _jurisdiction_parameter(), _api_key_parameter()],
                _responses(
                    {"type": "array", "minItems": 1, "maxItems": 1, "items": _request_schema()},
                    ["403", "404", "502", "503", "504"],
                ),
            )
        },
    }


def openapi_tags():
    return [
        {
            "name": TAG,
            "description": "The demand list (需求清单) as an Open311 GeoReport v2 endpoint: categories as services, "
            "tickets as service requests, JSON or XML. See docs/OPEN311.md.",
        }
    ]
