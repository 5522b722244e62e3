"""Every RPC method is served over HTTP (issue 15): its route is declared beside it, names only
fields of its input, and no two methods share one. The OpenAPI document built from them is valid
OpenAPI 3.1 and lists each."""

import pytest
from marshmallow import Schema, fields

from alliance_platform.config import installed_services, service_class
from alliance_platform.routes import parse_routes


class _Input(Schema):
    ticket_id = fields.UUID(required=True)
    labels = fields.List(fields.String())
    detail = fields.Dict()


def _rpc_methods():
    for name in installed_services():
        cls = service_class(name)
        for attr in sorted(dir(cls)):
            method = getattr(cls, attr)
            if hasattr(method, "rpc_schema"):
                yield f"{name}.{attr}", method


def test_every_rpc_method_has_a_route_and_no_two_share_one():
    methods = dict(_rpc_methods())
    unrouted = [name for name, method in methods.items() if not method.rpc_routes]
    assert unrouted == [], "declare rpc(route=...) for these"
    seen = {}
    for name, method in methods.items():
        for route in method.rpc_routes:
            assert (route.verb, route.full_path) not in seen, f"{name} and {seen[(route.verb, route.full_path)]}"
            seen[(route.verb, route.full_path)] = name
    reads = [n for n, m in methods.items() if m.rpc_read_only and any(r.verb != "GET" for r in m.rpc_routes)]
    commands = [n for n, m in methods.items() if not m.rpc_read_only and any(r.verb == "GET" for r in m.rpc_routes)]
    assert reads == [] and commands == [], "a read is a GET, a command never is"
    print(f"{len(methods)} methods, {len(seen)} routes")


@pytest.mark.parametrize(
    "route, message",
    [
        ("FETCH /tickets", "verb"),
        ("POST tickets", "path"),
        ("POST /Tickets", "path"),
        ("POST /tickets/{ticket}", "not fields of the input"),
        ("GET /tickets/{ticket_id}", "query string, which cannot carry ['detail']"),
    ],
)
def test_a_wrong_route_fails_when_the_service_is_imported(route, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_routes(route, _Input(), "do_it")


def test_a_route_names_its_path_fields():
    (route,) = parse_routes("POST /tickets/{ticket_id}/labels", _Input(), "label")
    assert route.full_path == "/v1/tickets/{ticket_id}/labels" and route.path_params == ("ticket_id",)


def test_the_openapi_document_is_valid_and_has_an_operation_for_every_route():
    from openapi_spec_validator import validate

    from alliance_gateway.openapi import document

    spec = document()
    validate(spec)
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    for name, _ in _rpc_methods():
        assert name in operations
    # Every operation answers with its result schema and problem documents, nothing undocumented.
    for path, item in spec["paths"].items():
        for verb, op in item.items():
            if not path.startswith("/v1/"):
                continue
            assert "application/json" in op["responses"]["200"]["content"], (verb, path)
            assert {"400", "401", "403", "404", "409", "503", "504"} <= set(op["responses"]), (verb, path)


def test_the_gateway_fills_the_callers_address_whatever_the_body_says():
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from alliance_gateway.http import arguments
    from alliance_gateway.openapi import document
    from alliance_gateway.operations import operations

    (op,) = [o for o in operations() if o.operation_id == "registry.request_sign_in_code"]
    assert op.caller_address_fields() == ("client",) and "client" not in op.body_fields()
    environ = EnvironBuilder(
        method="POST", path=op.path, json={"mobile": "13900001111", "client": "1.2.3.4"}
    ).get_environ()
    environ["REMOTE_ADDR"] = "10.9.8.7"
    assert arguments(op, Request(environ), {}, 1024) == {"mobile": "13900001111", "client": "10.9.8.7"}
    # Not part of the documented input, and no token needed.
    described = document()["paths"][op.path]["post"]
    assert "client" not in described["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert described["security"] == []
