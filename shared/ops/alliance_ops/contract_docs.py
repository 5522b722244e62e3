"""The contract other systems code against, written out from the code itself: every RPC method of
every service (who may call it, what it takes) and every event (what it carries).

``alliance contract`` prints it; ``docs/CONTRACT.md`` holds it, and a test keeps that file equal to
what the code says, so the document cannot drift from the services.
"""

from marshmallow import fields as mm

from alliance_contracts import CATALOG
from alliance_platform.bounds import effective_bound
from alliance_platform.config import installed_services, service_class

# What a caller must know about data that reaches one service from another only by events.
CONSISTENCY = {
    "tickets": (
        "tickets knows merchants, people and pairings from the registry's events (its read model): a "
        "merchant or person registered a moment ago is `unknown` to tickets (NotFound / ValidationError) "
        "until that event has arrived, usually within a second — wait briefly and retry."
    ),
    "notifications": (
        "notifications resolves recipients by asking the registry when an event arrives; a message for an "
        "event is in the inbox shortly after the event, not when the command that caused it returns."
    ),
    "events": "events asks the registry over RPC when it needs a merchant (nominate): always current.",
    "registry": "registry is the source of merchants and people: what it answers is current.",
}

CALLS_SECTION = [
    "## Calls: retries and request ids",
    "",
    "- Every call of a command may carry the caller's own **request id** (an idempotency key): the",
    "  message header `nameko.request_id`, 1–128 printable characters, chosen per logical call and",
    "  sent unchanged with every retry of it (`AllianceClient` does this itself; name your own with",
    '  `alliance.tickets.submit_ticket.with_request_id("crm-42")(...)`). A retry with the same id —',
    "  after a timeout, a broken connection, a restart — gets the first answer and does nothing",
    "  again; the same id with other arguments is a `Conflict`. Ids are per caller identity and kept",
    "  2 days. Without an id, only a redelivery by the broker is recognised: a retry is a new call.",
    "- Read-only methods (lists, gets, searches) may be retried freely; they ignore the id.",
    "",
]

EVENTS_SECTION = [
    "## Events: how they travel and what a subscriber gets",
    "",
    "- Each service publishes its events to its own durable topic exchange `<service>.events`",
    "  (e.g. `tickets.events`), routing key = the event type (`ticket_resolved`), persistent, body =",
    "  the JSON envelope (`event_id`, `event_type`, `version`, `occurred_at`, `source`,",
    "  `correlation_id`, `aggregate_id`, `actor`, `payload`), AMQP `message_id` = `event_id`.",
    "- A subscriber declares its own durable queue, binds it to the exchange with the event types it",
    "  wants, and then consumes. **It gets only events published after its binding exists**: the",
    "  broker keeps nothing for a queue that does not exist yet, and an event nobody is bound for is",
    "  recorded by its publisher as published with no route (counted in",
    "  `alliance_outbox_unrouted_total`), not retried and not kept. Declare the queue before the",
    "  events you need can happen (deploy/README.md, *A new consumer of events*).",
    "- A copy kept from events starts from the current state: bind the queue, then read what exists",
    "  (e.g. `registry.list_organisations`, `search_merchants`), then apply events by their payload's",
    "  `version` where it has one (an older version arriving later changes nothing). What existed",
    "  before any queue — the seeded alliance, its branches, the street committee and the Debai",
    "  group — was never announced.",
    "- At least once: an event may arrive twice (a lost publisher confirm, a redelivery); dedupe by",
    "  `event_id`. Never lost once committed: the outbox keeps it until the broker has confirmed it.",
    "- Order: the events of one aggregate (`aggregate_id`: a ticket, an activity, a merchant ...) are",
    "  published in commit order, one at a time — none overtakes an earlier one, whatever fails.",
    "  A consumer that handles messages concurrently must itself keep order where it matters (many",
    "  payloads carry a `version`).",
    "- A payload keeps its contract within a version; fields may be added (optional, documented) —",
    "  ignore fields you do not know.",
    "",
]


def _field(name, field, result=False):
    kind = type(field).__name__
    if result:
        notes = ["may be null" if field.allow_none else "always"] if field.required else ["optional"]
    else:
        notes = ["required" if field.required else "optional"]
    if isinstance(field, mm.List):
        inner = effective_bound(field.inner)
        kind = f"List[{type(field.inner).__name__}{f' {inner}' if inner else ''}]"
    elif isinstance(field, mm.Nested):
        kind = type(field.schema).__name__
    bound = effective_bound(field)
    if bound:
        notes.append(bound)
    return f"`{name}` {kind} ({', '.join(notes)})"


def _methods(cls):
    for attr in sorted(dir(cls)):
        method = getattr(cls, attr)
        if hasattr(method, "rpc_schema"):
            yield attr, method


def rpc_services():
    """The installed services that have RPC methods (not the gateway, which serves theirs)."""
    return [name for name in installed_services() if any(True for _ in _methods(service_class(name)))]


def render():
    lines = [
        "# The services' contract",
        "",
        "Generated from the code by `alliance contract --write` (a test keeps this file current), with its",
        "machine-readable twins: `docs/contract/rpc/<service>.json` (JSON Schema 2020-12 of every method's",
        "arguments and result) and `docs/contract/asyncapi.yaml` (AsyncAPI 3.0 of every event). How to call",
        "and subscribe from any AMQP client, without nameko: `docs/contract/WIRE.md`. What callers may rely",
        "on across versions: `docs/contract/README.md`. Contract version: see `x-contract-version`. Every call",
        "carries a signed identity (see README, *Calling a service*); a refused call raises a typed",
        "error from `alliance_platform.errors` and changes nothing. *Roles*: who may call the method at",
        "all; district and ownership scope is checked on the data. Every argument has a bound, shown",
        "beside it (characters of a string, items of a list, keys of a mapping, a range, or its choices);",
        "a value over it is a `ValidationError` naming the field. A whole request message may be at most",
        "1 MiB (`RPC_MAX_REQUEST_BYTES`; `import_merchants` takes a 20 MB roster): a larger one is refused",
        "with a `ValidationError` before it is parsed. Events travel in the envelope of",
        "`alliance_contracts`; their payloads are listed below.",
        "",
        *CALLS_SECTION,
        *EVENTS_SECTION,
    ]
    for name in rpc_services():
        cls = service_class(name)
        lines += [f"## {name}", "", (cls.__doc__ or "").strip(), ""] if cls.__doc__ else [f"## {name}", ""]
        methods = list(_methods(cls))
        if CONSISTENCY.get(name):
            lines += [f"*Consistency*: {CONSISTENCY[name]}", ""]
        if methods:
            lines += ["| method | HTTP | roles | arguments | result |", "|---|---|---|---|---|"]
            for attr, method in methods:
                anyone = "any verified caller" if getattr(method, "rpc_authenticated", True) else "anyone, no token"
                roles = ", ".join(method.rpc_allow) or anyone
                if not method.rpc_read_only:
                    roles += " · command"
                schema, result = method.rpc_schema, getattr(method, "rpc_result", None)
                arguments = "; ".join(_field(n, f) for n, f in schema.fields.items()) if schema else "—"
                answer = "; ".join(_field(n, f, result=True) for n, f in result.fields.items()) if result else "—"
                http = "<br>".join(f"`{r.verb} {r.full_path}`" for r in method.rpc_routes) or "—"
                lines.append(f"| `{attr}` | {http} | {roles} | {arguments} | {answer} |")
            lines.append("")
        events = sorted((t, v) for (s, t, v) in CATALOG if s == name)
        if events:
            lines += [f"Events published by {name}:", ""]
            for event_type, version in events:
                contract = CATALOG[(name, event_type, version)]
                payload = ", ".join(f"`{n}`" for n in contract.schema.fields)
                lines.append(f"- **{event_type}** v{version} — {contract.description} Payload: {payload}.")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
