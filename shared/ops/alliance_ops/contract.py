"""The machine-readable contract, generated from the code: what another system codes against.

- ``docs/contract/rpc/<service>.json`` — JSON Schema (2020-12) of every RPC method's arguments
  and result, with enums, bounds, formats and nested shapes (``$defs``), and per method who may
  call it and whether it is a command (``x-methods``);
- ``docs/contract/asyncapi.yaml`` — AsyncAPI 3.0: every event's channel (exchange, routing key),
  its envelope and payload, each field typed, with the documented examples;
- ``docs/CONTRACT.md`` — the same for people, rendered from those documents.

``write(root)`` writes them; ``stale(root)`` says which differ from the code (a test keeps them
equal); ``breaking_changes(old, new)`` compares two RPC documents and lists what could break a
caller — ``tests/unit/test_contract_versions.py`` fails when the contract breaks the last released
one (``docs/contract/released/``) without raising ``CONTRACT_VERSION``'s major number.
"""

import copy
import json
from pathlib import Path

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from alliance_contracts import CATALOG, CONTRACT_VERSION, EnvelopeSchema
from alliance_platform.config import installed_services, service_class

from . import contract_docs
from .contract_docs import CONSISTENCY, rpc_services

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
ERRORS = (
    "ValidationError",
    "NotFound",
    "Conflict",
    "Forbidden",
    "Unauthenticated",
    "ServiceTimeout",
    "ServiceUnavailable",
)


def _methods(cls):
    for attr in sorted(dir(cls)):
        method = getattr(cls, attr)
        if hasattr(method, "rpc_schema"):
            yield attr, method


def _refs_to_defs(node):
    """apispec writes nested schemas as OpenAPI component references; JSON Schema keeps them in $defs."""
    if isinstance(node, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _refs_to_defs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_refs_to_defs(v) for v in node]
    return node


def _converter(title):
    spec = APISpec(
        title=title,
        version=CONTRACT_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=lambda schema: None)],  # nested inline
    )
    return spec, spec.plugins[0].converter


def _json_schema(converter, schema):
    if schema is None:
        return {"type": "object", "additionalProperties": False, "maxProperties": 0}
    described = _refs_to_defs(converter.schema2jsonschema(schema))
    return {"type": "array", "items": described} if getattr(schema, "many", False) else described


def rpc_document(service):
    """The JSON Schema document of one service's RPC methods."""
    cls = service_class(service)
    _, converter = _converter(f"{service} RPC")
    defs, methods = {}, {}
    for name, method in _methods(cls):
        defs[f"{name}.arguments"] = _json_schema(converter, method.rpc_schema)
        result = getattr(method, "rpc_result", None)
        if result is not None:
            defs[f"{name}.result"] = _json_schema(converter, result)
        methods[name] = {
            "routing_key": f"{service}.{name}",
            "roles": list(method.rpc_allow)
            or (["any verified caller"] if getattr(method, "rpc_authenticated", True) else ["anyone, no token"]),
            "command": not method.rpc_read_only,
            "http": [f"{r.verb} {r.full_path}" for r in method.rpc_routes],
            "arguments": {"$ref": f"#/$defs/{name}.arguments"},
            "result": {"$ref": f"#/$defs/{name}.result"} if result is not None else None,
            "errors": list(ERRORS),
        }
    return {
        "$schema": JSON_SCHEMA,
        "$id": f"urn:alliance:contract:rpc:{service}",
        "title": f"{service}: RPC methods",
        "description": (cls.__doc__ or "").strip(),
        "x-contract-version": CONTRACT_VERSION,
        "x-consistency": CONSISTENCY.get(service, ""),
        "x-methods": methods,
        "$defs": defs,
    }


def asyncapi_document():
    """The AsyncAPI 3.0 document of every event the services publish."""
    _, converter = _converter("events")
    envelope = _json_schema(converter, EnvelopeSchema())
    channels, operations, messages, schemas = {}, {}, {}, {"Envelope": envelope}
    services = set(installed_services())  # not the test probes' contracts, if a test loaded them
    for source, event_type, version in sorted(key for key in CATALOG if key[0] in services):
        contract = CATALOG[(source, event_type, version)]
        key = f"{source}.{event_type}.v{version}"
        payload = _json_schema(converter, contract.schema)
        schemas[key] = payload
        message_schema = copy.deepcopy(envelope)
        message_schema["properties"]["payload"] = {"$ref": f"#/components/schemas/{key}"}
        message_schema["properties"]["event_type"] = {"const": event_type}
        message_schema["properties"]["source"] = {"const": source}
        message_schema["properties"]["version"] = {"const": version}
        messages[key] = {
            "name": event_type,
            "title": f"{source}.{event_type} v{version}",
            "summary": contract.description.split("\n")[0],
            "description": contract.description,
            "contentType": "application/json",
            "payload": message_schema,
            "examples": [
                {"name": f"example{n}", "payload": {"event_type": event_type, "source": source, "payload": example}}
                for n, example in enumerate(contract.examples, start=1)
            ],
        }
        channel = f"{source}.{event_type}"
        channels.setdefault(
            channel,
            {
                "address": event_type,
                "title": f"{event_type} on {source}.events",
                "messages": {},
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {"name": f"{source}.events", "type": "topic", "durable": True, "autoDelete": False},
                        "bindingVersion": "0.3.0",
                    }
                },
            },
        )
        channels[channel]["messages"][f"v{version}"] = {"$ref": f"#/components/messages/{key}"}
        operations[f"{channel}.published"] = {
            "action": "send",
            "title": f"{source} publishes {event_type}",
            "channel": {"$ref": f"#/channels/{channel}"},
            # Persistent, with publisher confirms and mandatory (unrouted: recorded, not retried).
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": "0.3.0"}},
        }
    for channel, operation in operations.items():
        name = channel.removesuffix(".published")
        operation["messages"] = [{"$ref": f"#/channels/{name}/messages/{v}"} for v in channels[name]["messages"]]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Red Star Debai alliance platform: events",
            "version": CONTRACT_VERSION,
            "description": (
                "Every event the services publish, each on its source's topic exchange with the event type "
                "as routing key, in the JSON envelope. How to subscribe: docs/contract/WIRE.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {"host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0.9.1", "pathname": "/alliance"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def files():
    """{path relative to the repository: content} of every generated contract document."""
    from alliance_gateway.openapi import document as openapi_document

    out = {}
    for service in rpc_services():
        document = rpc_document(service)
        out[f"docs/contract/rpc/{service}.json"] = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    events = asyncapi_document()
    out["docs/contract/asyncapi.yaml"] = yaml.safe_dump(events, allow_unicode=True, sort_keys=False, width=100)
    out["docs/contract/openapi.json"] = json.dumps(openapi_document(), ensure_ascii=False, indent=2) + "\n"
    out["docs/CONTRACT.md"] = contract_docs.render()
    return out


def write(root):
    written = []
    for relative, text in files().items():
        path = Path(root) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(relative)
    return written


def stale(root):
    """The generated documents that differ from what the code says now."""
    return [
        relative
        for relative, text in files().items()
        if not (Path(root) / relative).exists() or (Path(root) / relative).read_text(encoding="utf-8") != text
    ]


# --- versions -----------------------------------------------------------------------------------


def _resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        node = document["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _types(node):
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _narrowed(old, new, path, direction, found):
    """What a value accepted (``direction`` "in": arguments) or promised ("out": results) before and
    no longer is; ``found`` collects the differences."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    before_types, after_types = _types(old), _types(new)
    lost = before_types - after_types if direction == "in" else after_types - before_types
    if before_types and after_types and lost:
        found.append(f"{path}: type {sorted(map(str, _types(old)))} became {sorted(map(str, _types(new)))}")
    if "enum" in old or "enum" in new:
        before, after = set(old.get("enum") or []), set(new.get("enum") or [])
        if direction == "in" and "enum" in new and before - after:
            found.append(f"{path}: no longer accepts {sorted(map(str, before - after))}")
        if direction == "out" and "enum" in old and after - before:
            found.append(f"{path}: may now be {sorted(map(str, after - before))}")
    if direction == "in":
        limits = (("maxLength", min), ("maxItems", min), ("maximum", min), ("minLength", max), ("minimum", max))
        for key, tighter in limits:
            if key in new and (key not in old or tighter(old[key], new[key]) != old[key]):
                found.append(f"{path}: {key} {old.get(key, 'none')} became {new[key]}")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, schema in old_props.items():
        if name not in new_props:
            if direction == "in" and new.get("additionalProperties") is False:
                found.append(f"{path}.{name}: argument removed")
            elif direction == "out":
                found.append(f"{path}.{name}: result field removed")
            continue
        _narrowed(schema, new_props[name], f"{path}.{name}", direction, found)
    if direction == "in":
        for name in set(new.get("required", [])) - set(old.get("required", [])):
            found.append(f"{path}.{name}: now required")
    else:
        for name in set(old.get("required", [])) - set(new.get("required", [])):
            found.append(f"{path}.{name}: no longer always present")
    if "items" in old and "items" in new:
        _narrowed(old["items"], new["items"], f"{path}[]", direction, found)


def breaking_changes(old_docs, new_docs):
    """What in ``new_docs`` could break a caller written against ``old_docs`` ({service: RPC document})."""
    found = []
    for service, old in sorted(old_docs.items()):
        new = new_docs.get(service)
        if new is None:
            found.append(f"{service}: service removed")
            continue
        for method, spec in sorted(old["x-methods"].items()):
            current = new["x-methods"].get(method)
            where = f"{service}.{method}"
            if current is None:
                found.append(f"{where}: method removed")
                continue
            if set(spec["roles"]) - set(current["roles"]) and "any verified caller" not in current["roles"]:
                found.append(f"{where}: no longer open to {sorted(set(spec['roles']) - set(current['roles']))}")
            before, after = _deep(old, spec["arguments"]), _deep(new, current["arguments"])
            _narrowed(before, after, f"{where}(arguments)", "in", found)
            if spec.get("result") and current.get("result"):
                _narrowed(_deep(old, spec["result"]), _deep(new, current["result"]), f"{where}(result)", "out", found)
            elif spec.get("result"):
                found.append(f"{where}: result no longer described")
    return found


def _deep(document, node):
    """``node`` with every $ref into the document's $defs replaced by its target."""
    node = _resolve(document, node)
    if isinstance(node, dict):
        return {k: _deep(document, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_deep(document, v) for v in node]
    return node


RELEASED = "docs/contract/released"


def released(root):
    """The last released RPC documents ({service: document}) and their version, or ({}, None)."""
    folder = Path(root) / RELEASED
    docs = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}
    versions = {doc["x-contract-version"] for doc in docs.values()}
    return docs, (versions.pop() if len(versions) == 1 else None)


def release(root):
    """Record the current RPC documents as the released baseline; returns the version."""
    folder = Path(root) / RELEASED
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for service in rpc_services():
        text = json.dumps(rpc_document(service), ensure_ascii=False, indent=2) + "\n"
        (folder / f"{service}.json").write_text(text, encoding="utf-8")
    return CONTRACT_VERSION
