"""The gateway's operations: one per route declared on an RPC method of an installed service.

Nothing here is written by hand per method: the services' ``rpc(route=..., schema=..., result=...)``
declarations are read through the ``alliance.services`` entry points (the gateway imports no
service), so a method added to a service is served, validated and documented without a change here.
"""

import functools
from dataclasses import dataclass

from marshmallow import fields

from alliance_platform.config import installed_services, service_class
from alliance_platform.routes import CALLER_ADDRESS

GATEWAY = "gateway"  # the gateway's own entry point: it serves the others


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    verb: str
    path: str  # the full path, e.g. /v1/tickets/{ticket_id}/accept
    path_params: tuple
    other_path_params: tuple  # of the method's other routes: not parameters of this one
    schema: object  # the marshmallow input schema, or None for a method without arguments
    result: object  # the result schema (``many`` for a list)
    read_only: bool
    authenticated: bool
    roles: tuple
    max_request_bytes: int | None
    operation_id: str
    summary: str
    description: str

    @property
    def command(self):
        return not self.read_only

    def fields(self):
        """{wire name: marshmallow field} of the input a caller sends (not what the gateway fills)."""
        if self.schema is None:
            return {}
        return {
            f.data_key or name: f
            for name, f in self.schema.fields.items()
            if not f.dump_only and not f.metadata.get(CALLER_ADDRESS)
        }

    def caller_address_fields(self):
        """Wire names of the fields the gateway fills with its caller's network address."""
        if self.schema is None:
            return ()
        return tuple(f.data_key or n for n, f in self.schema.fields.items() if f.metadata.get(CALLER_ADDRESS))

    def query_fields(self):
        if self.verb != "GET":
            return {}
        skipped = (*self.path_params, *self.other_path_params)
        return {n: f for n, f in self.fields().items() if n not in skipped}

    def body_fields(self):
        return {} if self.verb == "GET" else {n: f for n, f in self.fields().items() if n not in self.path_params}

    def is_list(self, name):
        return isinstance(self.fields().get(name), fields.List)


def _doc(method):
    text = (method.__doc__ or "").strip()
    return text.split("\n\n")[0].replace("\n", " ") if text else "", text


def _of_service(service):
    cls = service_class(service)
    for attr in sorted(dir(cls)):
        method = getattr(cls, attr)
        routes = getattr(method, "rpc_routes", ())
        for n, route in enumerate(routes):
            summary, description = _doc(method)
            suffix = "" if n == 0 else f"_by_{route.path_params[-1] if route.path_params else n}"
            yield Operation(
                service=service,
                method=attr,
                verb=route.verb,
                path=route.full_path,
                path_params=route.path_params,
                other_path_params=tuple(
                    p for other in routes if other is not route for p in other.path_params if p not in route.path_params
                ),
                schema=method.rpc_schema,
                result=method.rpc_result,
                read_only=method.rpc_read_only,
                authenticated=getattr(method, "rpc_authenticated", True),
                roles=tuple(method.rpc_allow),
                max_request_bytes=method.rpc_max_request_bytes,
                operation_id=f"{service}.{attr}{suffix}",
                summary=(summary or attr.replace("_", " ")) + (suffix.replace("_", " ") if suffix else ""),
                description=description,
            )


@functools.cache
def operations():
    """Every operation of the installed services, in a stable order."""
    found = [op for service in installed_services() if service != GATEWAY for op in _of_service(service)]
    seen = {}
    for op in found:
        key = (op.verb, op.path)
        if key in seen:
            raise ValueError(f"{op.verb} {op.path} is declared by {seen[key]} and {op.operation_id}")
        seen[key] = op.operation_id
    return tuple(found)
