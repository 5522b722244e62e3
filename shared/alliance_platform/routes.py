"""Where the HTTP gateway serves an RPC method: ``rpc(route="POST /tickets/{ticket_id}/accept")``.

A route is declared beside the method it serves, so the method, its input and result schemas and
its HTTP form are one declaration and cannot drift apart. ``{field}`` segments are fields of the
method's input schema, filled from the path; the other fields come from the query string for
``GET`` (a list field repeats its name: ``?status=new&status=accepted``) and from the JSON body
otherwise. Every path is under ``/v1``; the gateway (``services/gateway``) builds its routing table
and its OpenAPI document from these declarations.
"""

import re
from dataclasses import dataclass

from marshmallow import fields

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A field marked ``metadata={CALLER_ADDRESS: True}`` is filled by the HTTP gateway with the network
# address its caller connects from, whatever the caller sent (a rate limit per client cannot be
# escaped by naming another); it is not part of the HTTP operation's input.
CALLER_ADDRESS = "x-caller-address"
PREFIX = "/v1"
_SEGMENT = re.compile(r"^(?:[a-z0-9][a-z0-9-]*|\{[a-z_][a-z0-9_]*\})$")
_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    verb: str
    path: str  # under /v1, e.g. /tickets/{ticket_id}/accept
    path_params: tuple

    @property
    def full_path(self):
        return PREFIX + self.path


def _scalar(field):
    return not isinstance(field, fields.Nested | fields.Dict | fields.Mapping | fields.List)


def _query_safe(field):
    return _scalar(field) or (isinstance(field, fields.List) and _scalar(field.inner))


def parse_routes(route, schema, method_name):
    """The ``Route``s of a method from its ``route=`` declaration; a wrong one fails at import."""
    if route is None:
        return ()
    declared = (route,) if isinstance(route, str) else tuple(route)
    names = {} if schema is None else {f.data_key or n: f for n, f in schema.fields.items()}
    out = []
    for text in declared:
        verb, _, path = text.partition(" ")
        problem = None
        if verb not in VERBS:
            problem = f"verb {verb!r} is not one of {VERBS}"
        elif not path.startswith("/") or not all(_SEGMENT.match(s) for s in path[1:].split("/")):
            problem = f"path {path!r} is not /lower-case/segments/{{field}}"
        params = tuple(_PARAM.findall(path))
        missing = [p for p in params if p not in names]
        if problem is None and missing:
            problem = f"path fields {missing} are not fields of the input schema"
        if problem is None and verb == "GET":
            nested = [n for n, f in names.items() if not _query_safe(f)]
            if nested:
                problem = f"GET takes its input from the query string, which cannot carry {nested}"
        if problem is not None:
            raise ValueError(f"rpc {method_name}: route {text!r}: {problem}")
        out.append(Route(verb, path, params))
    return tuple(out)
