"""The OpenAPI 3.1 document of the gateway, generated with apispec from the services' own schemas.

Every operation's parameters, request body and result come from the marshmallow schemas of its
RPC method (``operations.py``) — the same objects that load the call's input and dump its answer —
so the document cannot say something the services do not do. ``docs/contract/openapi.json`` is a
committed copy (``alliance contract --write``; a test keeps it equal).
"""

import copy
import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from alliance_contracts import CONTRACT_VERSION
from alliance_platform.config import service_class

from . import open311, problems
from .operations import operations

TITLE = "天衢新区商圈党建联盟 服务平台 · HTTP API"
DESCRIPTION = """\
Every RPC method of the alliance's services (registry 党员与商户名册, tickets 需求清单, events 联合活动,
notifications 通知) over HTTP/JSON, and the demand list as an Open311 GeoReport v2 endpoint.

- **Identity**: `Authorization: Bearer <token>` — the caller's own signed identity token; the gateway
  passes it on and the service checks it, so a call can do exactly what the token's holder may do.
- **Errors**: RFC 9457 problem details (`application/problem+json`): `type`, `title`, `status`,
  `detail`, `code`, and for invalid input `errors` — the messages of each field.
- **Safe retries**: a command (any operation that is not a `GET`) takes an `Idempotency-Key` header
  (1–128 printable characters, your choice, kept per caller). The same key with the same body is
  answered with the stored answer of the first call and not carried out again; the same key with a
  different body is 409.
- **Tracing**: `X-Correlation-Id` (sent or made up) comes back on every answer and follows the call
  through every service's logs.
- The same methods over AMQP: docs/contract/WIRE.md; events: docs/contract/asyncapi.yaml.
"""
ERROR_STATUSES = {
    "400": "Invalid input: `errors` holds the messages of each field (also a body that is not JSON)",
    "401": "No identity token, or an expired, forged or malformed one",
    "403": "The caller's token does not allow this",
    "404": "What the call names does not exist",
    "409": "The call contradicts the current state, or its Idempotency-Key was used for another call",
    "502": "The service answered with something the gateway could not pass on",
    "503": "The service, or something it needs, cannot be reached",
    "414": "The request line is longer than the server reads (8 KiB): send fewer or shorter values",
    "504": "The service gave no answer in time; a command may or may not have been carried out "
    "(retry it with the same Idempotency-Key)",
}
BODY_STATUSES = {
    "413": "The body is larger than the operation takes",
    "415": "The body is not JSON",
}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [problems.TYPE_BASE + "validation_error"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": sorted(problems.STATUSES)},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "for invalid input: each field's messages (nested for nested fields)",
        },
    },
}


def _spec():
    spec = APISpec(
        title=TITLE,
        version=CONTRACT_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=lambda schema: None)],  # nested shapes inline
        info={"description": DESCRIPTION},
    )
    return spec, spec.plugins[0].converter


def _schema_of(converter, schema):
    described = converter.schema2jsonschema(schema)
    return {"type": "array", "items": described} if getattr(schema, "many", False) else described


def _parameter(converter, name, field, where):
    schema = converter.field2property(field)
    parameter = {"name": name, "in": where, "required": where == "path" or bool(field.required), "schema": schema}
    if schema.get("description"):
        parameter["description"] = schema["description"]
    if where == "query" and schema.get("type") == "array":
        parameter.update(style="form", explode=True)
    return parameter


def _body(converter, op):
    names = op.body_fields()
    if not names:
        return None
    schema = copy.deepcopy(converter.schema2jsonschema(op.schema))
    schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k in names}
    required = [k for k in schema.get("required", []) if k in names]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _operation(converter, op):
    parameters = [_parameter(converter, name, op.fields()[name], "path") for name in op.path_params]
    parameters += [_parameter(converter, name, field, "query") for name, field in op.query_fields().items()]
    if op.command:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    parameters.append({"$ref": "#/components/parameters/CorrelationId"})
    roles = ", ".join(op.roles) if op.roles else "any verified caller" if op.authenticated else "anyone, no token"
    description = (op.description + "\n\n" if op.description else "") + (
        f"Who may call it: {roles}. RPC: `{op.service}.{op.method}`"
        + (" (a command: retry it with the same Idempotency-Key)." if op.command else " (reads only).")
    )
    responses = {
        "200": {
            "description": "The answer",
            "headers": {"X-Correlation-Id": {"$ref": "#/components/headers/CorrelationId"}},
            "content": {"application/json": {"schema": _schema_of(converter, op.result)}},
        }
    }
    statuses = {**ERROR_STATUSES, **({} if op.verb == "GET" else BODY_STATUSES)}
    for status in sorted(statuses):
        responses[status] = {"$ref": f"#/components/responses/Problem{status}"}
    operation = {
        "operationId": op.operation_id,
        "tags": [op.service],
        "summary": op.summary,
        "description": description,
        "parameters": parameters,
        "responses": responses,
        "x-rpc": {"service": op.service, "method": op.method, "command": op.command},
    }
    body = _body(converter, op)
    if body is not None:
        operation["requestBody"] = body
    if not op.authenticated:
        operation["security"] = []
    return operation


def _components():
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = {
        f"Problem{status}": {"description": text}  # the web server's own refusal, before any operation
        if status == "414"
        else {
            "description": text,
            "headers": {"X-Correlation-Id": {"$ref": "#/components/headers/CorrelationId"}},
            "content": problem,
        }
        for status, text in {**ERROR_STATUSES, **BODY_STATUSES}.items()
    }
    return {
        "schemas": {"Problem": PROBLEM_SCHEMA},
        "responses": dict(sorted(responses.items())),
        "parameters": {
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Your id of this call, kept across your retries (per caller).",
                "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x20-\\x7e]+$"},
            },
            "CorrelationId": {
                "name": "X-Correlation-Id",
                "in": "header",
                "required": False,
                "description": "Ties this call to the log lines of every service it reaches: up to 128 printable"
                " ASCII characters (any other value is replaced by a new id, which the answer carries).",
                "schema": {"type": "string"},
            },
        },
        "headers": {
            "CorrelationId": {
                "description": "The call's correlation id (yours, or made up)",
                "schema": {"type": "string"},
            }
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    }


def _tags(ops):
    names = sorted({op.service for op in ops})
    tags = []
    for name in names:
        doc = (service_class(name).__doc__ or "").strip().replace("\n", " ")
        tags.append({"name": name, "description": doc})
    return tags


@functools.cache
def document(server_url="/"):
    """The whole document, as a dict (the same on every call)."""
    spec, converter = _spec()
    ops = operations()
    paths = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.verb.lower()] = _operation(converter, op)
    extra_paths, extra_tags = _extras()
    paths.update(extra_paths)
    out = spec.to_dict()
    out["servers"] = [{"url": server_url}]
    out["security"] = [{"bearer": []}]
    out["tags"] = _tags(ops) + extra_tags
    out["paths"] = dict(sorted(paths.items()))
    out["components"] = _components()
    return out


def _extras():
    """Paths documented beside the RPC methods': the Open311 endpoint's."""
    return open311.openapi_paths(), open311.openapi_tags()
