"""Who changed what: one row in the service's ``changes`` table for every change it makes.

Written by the platform's entrypoints, never by a use case (``entrypoints.py``):

- every RPC command (not ``read_only``) that succeeds: who acted (``Identity.acted_by``: the
  person, or ``system:<name>`` for a system acting for them), on whose behalf (``on_behalf_of``),
  the correlation id, the caller's request id, the entities it touched and a bounded summary of its
  input. Deferred into the command's own transaction, so it goes with the COMMIT in the same round
  trip: a refused or rolled-back command leaves no row, and a repeated request id (answered from
  ``command_answers``, or rolled back whole at its commit) leaves no second one;
- every event handler run that is not a duplicate: acted by ``event:<source>.<event_type>``, on
  behalf of the event's actor, under the event's correlation id;
- every timer run whose result reports work done (a count above zero somewhere in it): acted by
  ``system:<service>``.

*Which entities* (``references``), the declared rule: every field of the loaded input and of the
dumped result, nested ones too, named ``<entity>_id`` or ``<entity>_ids`` gives ``"<entity>:<value>"``
(``merchant_id`` → ``merchant:…``, ``activity_id`` → ``activity:…``, ``registration_id`` …); the
fields that name a person by role (``owner_id``, ``assignee_id`` …, ``PERSON_FIELDS``) give
``person:…``; ids that name no entity (``correlation_id``, ``event_id``, ``item_id`` …,
``NOT_REFERENCES``) give nothing. A method adds or corrects fields with ``rpc(audit=Audit(
references={"parent_id": "ticket"}))``, or is left out with ``audit=False``.

*What of the input* (``summary``): its fields, each bounded (text cut at ``MAX_TEXT``, lists at
``MAX_ITEMS``, nesting at ``MAX_DEPTH``, the whole at ``MAX_SUMMARY_CHARS``), never a secret: a field
marked ``metadata={SECRET: True}``, one named in ``SECRET_NAMES`` or containing one of
``SECRET_PARTS`` at any depth (the registry's ``id_card_no``, a sign-in ``code``, a system's
``credential``, any ``*token*``), or one the method lists in ``Audit(omit=...)`` is left out, and
anything shaped like an ID-card number in free text is masked.
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from marshmallow import Schema, fields, validate

from .context import IDEMPOTENCY_KEY
from .errors import Unauthenticated, ValidationError
from .paging import PageSchema, decode_cursor, page, page_of

# A field's metadata key: its value is a secret and never goes into an audit summary. The contract
# shows it (an "x-" key is an OpenAPI extension).
SECRET = "x-secret"
# Names that are secrets wherever they appear, marked or not (a template's variables, too): these,
# and every name containing one of ``SECRET_PARTS`` (a system's ``credential``, ``subject_token``).
SECRET_NAMES = frozenset({"code", "check_in_code", "pin", "otp"})
SECRET_PARTS = ("id_card", "password", "secret", "token", "credential", "private_key", "api_key")
# Fields that name a person by the part they play.
PERSON_FIELDS = {
    "owner_id": "person",
    "assignee_id": "person",
    "requester_id": "person",
    "responsible_id": "person",
    "proposed_id": "person",
    "member_id": "person",
    "registrant_id": "person",
}
# ``*_id`` fields that name no entity, or one only the method can say (``parent_id``).
NOT_REFERENCES = frozenset(
    {
        "correlation_id",
        "request_id",
        "event_id",
        "event_ids",
        "call_id",
        "item_id",
        "item_ids",
        "parent_id",
        "idempotency_id",
        "unknown_ids",
    }
)

ANONYMOUS = "anonymous"  # who acted in a command anyone may call without a token

MAX_REFERENCES = 100
MAX_TEXT = 200
MAX_ITEMS = 10
MAX_DEPTH = 3
MAX_SUMMARY_CHARS = 4000
_ID_CARD = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{9}[0-9Xx](?![0-9A-Za-z])")
_ENTITY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Audit:
    """A method's audit rule: ``references`` adds or corrects fields ({field: entity}, or None for a
    field that names none); ``omit`` leaves input fields out of the summary."""

    references: dict = field(default_factory=dict)
    omit: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "_entities", {})  # field name -> entity or None, as decided

    @classmethod
    def of(cls, declared):
        """The rule for ``rpc(audit=declared)``: None when the method is not audited."""
        if declared is False:
            return None
        if declared is None or declared is True:
            return DEFAULT
        if isinstance(declared, cls):
            return declared
        raise TypeError(f"audit= takes True, False or an Audit, not {declared!r}")

    def entity_of(self, name):
        """The entity a field named ``name`` refers to, or None."""
        try:
            return self._entities[name]
        except KeyError:
            entity = self._entities[name] = self._decide(name) if len(self._entities) < 10_000 else None
            return entity

    def _decide(self, name):
        if name in self.references:
            return self.references[name]
        if name in NOT_REFERENCES:
            return None
        if name in PERSON_FIELDS:
            return PERSON_FIELDS[name]
        for suffix in ("_ids", "_id"):
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)]
        return None


DEFAULT = Audit()


# --- the entities a change touched ----------------------------------------------------------------


def references(*values, rule=DEFAULT):
    """``["merchant:m-1", "person:p-2", ...]``: the entities named in ``values`` by ``rule``, in
    order of first appearance, at most ``MAX_REFERENCES``."""
    found = {}
    for value in values:
        _collect(value, rule, found, depth=0)
    return list(found)[:MAX_REFERENCES]


_CONTAINERS = (dict, list, tuple)
_SEQUENCES = (list, tuple)
_IDS = (str, int, uuid.UUID)


def _collect(value, rule, found, depth):
    if depth > MAX_DEPTH or len(found) >= MAX_REFERENCES:
        return
    if isinstance(value, dict):
        for name, item in value.items():
            entity = rule.entity_of(name) if name.__class__ is str else None
            if entity:
                for one in item if isinstance(item, _SEQUENCES) else (item,):
                    if isinstance(one, _IDS) and one is not True and one is not False and one != "":
                        found.setdefault(f"{entity}:{one}", None)
            elif isinstance(item, _CONTAINERS):
                _collect(item, rule, found, depth + 1)
    elif isinstance(value, _SEQUENCES):
        for item in value:
            if isinstance(item, _CONTAINERS):
                _collect(item, rule, found, depth + 1)


# --- what the input said ----------------------------------------------------------------------------


def summary(data, schema=None, rule=DEFAULT):
    """A bounded, secret-free copy of a command's loaded input (a dict; ``{}`` for none)."""
    if not isinstance(data, dict):
        return {} if data is None else {"value": _bounded(data, None, 0)}
    out = _bounded_dict(data, schema, 0, rule.omit)
    text = json.dumps(out, ensure_ascii=False, default=str)
    if len(text) > MAX_SUMMARY_CHARS:
        out = {"_fields": sorted(out), "_truncated": f"{len(text)} characters"}
    return out


_SHAPES = {}  # id(schema) -> (schema, its secret field names, {field: nested schema})


def _shape(schema):
    """What the summary needs of ``schema``, worked out once per schema object."""
    if schema is None:
        return frozenset(), {}
    known = _SHAPES.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1], known[2]
    secrets, nested = set(), {}
    for key, f in schema.fields.items():
        name = f.attribute or key
        if f.metadata.get(SECRET):
            secrets.add(name)
        inner = f.inner if isinstance(f, fields.List) else f
        if isinstance(inner, fields.Nested):
            nested[name] = inner.schema
    if len(_SHAPES) < 10_000:
        _SHAPES[id(schema)] = (schema, frozenset(secrets), nested)
    return frozenset(secrets), nested


def _bounded_dict(data, schema, depth, omitted=()):
    secrets, nested = _shape(schema)
    out = {}
    for name, value in data.items():
        key = name if name.__class__ is str else str(name)
        if key in secrets or key in omitted or _secret_name(key):
            continue
        out[key] = _bounded(value, nested.get(key), depth + 1)
    return out


_SECRET_VERDICTS = {}


def _secret_name(name):
    verdict = _SECRET_VERDICTS.get(name)
    if verdict is None:
        lowered = name.lower()
        verdict = lowered in SECRET_NAMES or any(part in lowered for part in SECRET_PARTS)
        if len(_SECRET_VERDICTS) < 10_000:
            _SECRET_VERDICTS[name] = verdict
    return verdict


_PLAIN = (bool, int, float)
_AS_TEXT = (Decimal, uuid.UUID, datetime, date)


def _mask(match):
    number = match.group()
    return number[:3] + "*" * 11 + number[-4:]


def _bounded(value, schema, depth):
    if value is None or isinstance(value, _PLAIN):
        return value
    if isinstance(value, str):
        text = _ID_CARD.sub(_mask, value) if len(value) >= 18 else value
        return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}… ({len(text)} characters)"
    if isinstance(value, _AS_TEXT):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if depth >= MAX_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, dict):
        return _bounded_dict(value, schema, depth)
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        shown = [_bounded(v, schema, depth + 1) for v in items[:MAX_ITEMS]]
        return shown if len(items) <= MAX_ITEMS else [*shown, f"… {len(items)} items"]
    return f"<{type(value).__name__}>"


def did_work(result):
    """Whether a timer's result reports something done: a count above zero, or a non-empty list."""
    if isinstance(result, bool):
        return result
    if isinstance(result, int | float):
        return result > 0
    if isinstance(result, dict):
        return any(did_work(v) for v in result.values())
    if isinstance(result, list | tuple):
        return bool(result)
    return result is not None


# --- the table ---------------------------------------------------------------------------------------

_RECORD = (
    "INSERT INTO changes"
    " (at, service, command, acted_by, on_behalf_of, correlation_id, request_id, entities, summary)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
)


def record(session, *, at, service, command, acted_by, on_behalf_of, correlation_id, request_id, entities, summary):
    """Defer the row of one change into ``session``'s transaction (it goes with the commit)."""
    session.defer(
        _RECORD,
        (
            at,
            service,
            command,
            acted_by,
            on_behalf_of,
            correlation_id,
            request_id,
            list(entities),
            json.dumps(summary, ensure_ascii=False, default=str),
        ),
    )


def _write(service, command, acted_by, on_behalf_of, request_id, entities, summary_):
    session = getattr(service, "db", None)
    if session is None or session.read_only or session.finished:
        return  # no database of its own, or nothing of this call can be written any more
    clock = getattr(service, "clock", None)
    record(
        session,
        at=clock.now() if clock is not None else datetime.now(UTC),
        service=service.name,
        command=command,
        acted_by=acted_by,
        on_behalf_of=on_behalf_of,
        correlation_id=service.call.correlation_id,
        request_id=request_id,
        entities=entities,
        summary=summary_,
    )


def record_command(service, method_name, schema, data, answer, rule):
    """The row of an RPC command that succeeded (``rpc``'s wrapper, after its answer is stored)."""
    call = service.call
    try:
        identity = call.identity
        acted_by, on_behalf_of = identity.acted_by, identity.on_behalf_of
    except Unauthenticated:
        acted_by, on_behalf_of = ANONYMOUS, None  # a method anyone may call (signing in)
    request_id = call.worker_ctx.data.get(IDEMPOTENCY_KEY)
    _write(
        service,
        method_name,
        acted_by,
        on_behalf_of,
        request_id if isinstance(request_id, str) else None,
        references(data, answer, rule=rule),
        summary(data, schema, rule),
    )


def record_event(service, handler_name, event, result, rule):
    """The row of an event handler's run (not a duplicate): the event acted, for whoever caused it."""
    _write(
        service,
        handler_name,
        f"event:{event.source}.{event.event_type}",
        event.actor,
        None,
        references(event.payload, result, rule=rule),
        {"event_id": str(event.event_id), "aggregate_id": event.aggregate_id, **summary(event.payload, None, rule)},
    )


def record_timer(service, timer_name, result, rule):
    """The row of a timer run that reported work done: the service acted, for nobody."""
    _write(
        service,
        timer_name,
        f"system:{service.name}",
        None,
        None,
        references(result, rule=rule),
        summary({"result": result}, None, rule),
    )


# --- reading them ----------------------------------------------------------------------------------


class ListChanges(PageSchema):
    """The changes a service made, oldest first: to one entity (``entity`` and ``entity_id``,
    e.g. merchant and its id), within ``since`` (included) and ``until`` (excluded)."""

    entity = fields.String(load_default=None, validate=[validate.Length(min=1, max=40), validate.Regexp(_ENTITY)])
    entity_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)


class Change(Schema):
    """One change: when, which command, who acted (on whose behalf), the entities it touched."""

    change_id = fields.Integer(required=True, strict=True)
    at = fields.AwareDateTime(required=True)
    service = fields.String(required=True)
    command = fields.String(required=True)
    acted_by = fields.String(required=True, metadata={"description": "kind:subject, or system:<name> acting for"})
    on_behalf_of = fields.String(required=True, allow_none=True)
    correlation_id = fields.String(required=True)
    request_id = fields.String(required=True, allow_none=True)
    entities = fields.List(fields.String(), required=True)
    summary = fields.Dict(keys=fields.String(), required=True)


ChangePage = page_of(Change)

_LIST = (
    "SELECT id AS change_id, at, service, command, acted_by, on_behalf_of, correlation_id, request_id,"
    " entities, summary FROM changes WHERE {where} ORDER BY at, id LIMIT %(limit)s"
)


def list_changes(session, cmd):
    """A page of changes (``ListChanges``), oldest first."""
    if (cmd["entity"] is None) != (cmd["entity_id"] is None):
        raise ValidationError(
            "give entity and entity_id together",
            {"entity_id" if cmd["entity"] else "entity": ["required with the other"]},
        )
    if cmd["since"] and cmd["until"] and cmd["until"] <= cmd["since"]:
        raise ValidationError("until must be after since", {"until": ["must be after since"]})
    where, params = ["true"], {"limit": cmd["limit"] + 1}
    if cmd["entity"]:
        where.append("entities @> ARRAY[%(ref)s]::text[]")
        params["ref"] = f"{cmd['entity']}:{cmd['entity_id']}"
    if cmd["since"]:
        where.append("at >= %(since)s")
        params["since"] = cmd["since"]
    if cmd["until"]:
        where.append("at < %(until)s")
        params["until"] = cmd["until"]
    after = decode_cursor(cmd["cursor"], 2)
    if after is not None:
        where.append("(at, id) > (%(after_at)s, %(after_id)s)")
        params["after_at"], params["after_id"] = _cursor_key(after)
    rows = session.fetchall(_LIST.format(where=" AND ".join(where)), params)
    return page(rows, cmd["limit"], lambda r: (r["at"].isoformat(), r["change_id"]))


def _cursor_key(after):
    at, change_id = after
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not isinstance(change_id, int) or isinstance(change_id, bool):
        raise ValidationError("invalid cursor", {"cursor": ["not a cursor this method returned"]})
    return moment, change_id
