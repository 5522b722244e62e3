"""Everyday look-ups of the ``alliance`` command: system status, tickets and activities.

They call the services over RPC as the operator CLI (an identity minted from the configured
secret), and print tables. Exit codes: 0 success, 1 something is wrong (a service not ready, a
refused call), 2 bad usage.
"""

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime

import click
import requests
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from alliance_platform.config import installed_services, load_config
from alliance_platform.errors import AllianceError
from alliance_platform.messaging import broker_addresses

from .common import _local, _operator_client, _services, _uuid, _zone, _zone_label, main
from .supervisor import health_url


def _get_json(url, timeout=3):
    """(status, body) of a JSON GET; (None, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError as exc:
        return None, str(exc)


def _queues(config):
    """Queue depth and consumers per queue of the services' vhost, from the management API."""
    # The vhost of the first node: every node of a several-node AMQP_URI names the same one.
    amqp = urllib.parse.urlsplit(broker_addresses(config["AMQP_URI"])[0])
    vhost = urllib.parse.quote(urllib.parse.unquote(amqp.path[1:]) or "/", safe="")
    management = urllib.parse.urlsplit(config["RABBIT_MANAGEMENT_URI"])
    base = f"{management.scheme}://{management.hostname}:{management.port or 15672}"
    auth = (urllib.parse.unquote(management.username or ""), urllib.parse.unquote(management.password or ""))
    try:
        response = requests.get(f"{base}/api/queues/{vhost}", auth=auth, timeout=5)
        response.raise_for_status()
    except requests.RequestException:
        return None
    return {q["name"]: (q.get("messages", 0), q.get("consumers", 0)) for q in response.json()}


def _belongs(queue, service):
    return (
        queue == f"rpc-{service}"
        or queue.startswith("evt-")
        and f"--{service}." in queue
        or queue == f"alliance.dead-letters.{service}"
    )


NONE = "—"  # the service has none of its own (the gateway: no database, no outbox, no queue)


def _queue_figure(queues, mine, figure):
    """The sum of ``figure(messages, consumers)`` over a service's queues: "?" when the broker
    did not say, ``NONE`` when it has no queue (the gateway takes its work over HTTP)."""
    if queues is None:
        return "?"
    if not mine:
        return NONE
    return str(sum(figure(messages, consumers) for messages, consumers in mine))


@main.command()
def status():
    """Each service's health, queue depths, outbox backlog and dead letters (exit 1 if one is not ready)."""
    console = Console()
    # Short headers, full service names: the table fits 80 columns (the caption says what they mean).
    table = Table(
        caption="outbox: events not yet published (failing: refused by the broker) · dead: dead letters"
        f" · {NONE}: none of its own",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 1),
    )
    table.add_column("service", no_wrap=True, min_width=13)
    for header in ("ready", "db", "broker", "outbox", "failing", "dead", "queued", "consumers"):
        table.add_column(header, no_wrap=True)
    queues = _queues(load_config(installed_services()[0]))
    all_ready = True
    for name in installed_services():
        config = load_config(name)
        code, report = _get_json(health_url(config))
        ready = code == 200
        all_ready &= ready
        if not isinstance(report, dict):
            report = {"database": "?", "broker": f"no answer: {report}"}
        # A process without a database (the gateway) has no outbox and no event handlers either.
        has_database = bool(config.get("DATABASE_URL"))
        outbox = report.get("outbox") or {}
        mine = [depth for queue, depth in (queues or {}).items() if _belongs(queue, name)]
        table.add_row(
            name,
            "[green]yes[/green]" if ready else "[red]no[/red]",
            str(report.get("database", "?")) if has_database else NONE,
            str(report.get("broker", "?")),
            str(outbox.get("backlog", "?")) if has_database else NONE,
            str(outbox.get("failing", "?")) if has_database else NONE,
            # Dead letters are an event handler's; handlers keep their inbox in the database.
            str(report.get("dead_letters", "?")) if has_database else NONE,
            _queue_figure(queues, mine, lambda m, _: m),
            _queue_figure(queues, mine, lambda _, c: c),
        )
    console.print(table)
    if queues is None:
        console.print("[yellow]queue depths unknown: the broker's management API did not answer[/yellow]")
    raise SystemExit(0 if all_ready else 1)


def _call(method, **kwargs):
    try:
        return method(**kwargs)
    except AllianceError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@main.group()
def tickets():
    """The demand list: list, show and assign tickets."""


@tickets.command("list")
@click.option("--status", default=None)
@click.option("--district", default=None)
@click.option("--category", default=None)
@click.option("--assignee", default=None)
@click.option("--overdue", is_flag=True)
@click.option("--limit", default=50, show_default=True)
def tickets_list(status, district, category, assignee, overdue, limit):
    """Newest tickets first."""
    with _operator_client() as alliance:
        page = _call(
            alliance.tickets.list_tickets,
            status=status,
            district_id=district,
            category=category,
            assignee_id=assignee,
            overdue=overdue,
            limit=limit,
        )
        owners = _owner_names(alliance, page["items"])
    zone = _zone()
    table = Table(pad_edge=False, collapse_padding=True)
    table.add_column("reference", no_wrap=True, min_width=len("DM-2026-000001"))
    for header in ("status", "category", "district", "title", "owner"):
        table.add_column(header, overflow="fold")
    table.add_column(f"promised by {_zone_label(zone)}", min_width=10)
    for t in page["items"]:
        table.add_row(
            t["reference"],
            t["status"],
            t["category"],
            t["district_id"],
            t["title"],
            owners.get(t["responsible_id"], "—"),
            _local(t["resolution_due_at"], zone, with_zone=False),
        )
    Console().print(table)


def _owner_names(alliance, items):
    """Owner's name per responsible person id, as the tickets service knows them (one look-up per owner)."""
    names = {}
    for t in items:
        person = t["responsible_id"]
        if person and person not in names:
            with_owner = _call(alliance.tickets.get_ticket, ticket_id=t["ticket_id"])
            names[person] = (with_owner["responsible"] or {}).get("name") or person
    return names


@tickets.command("show")
@click.argument("reference")
def tickets_show(reference):
    """One ticket and its timeline (times in the alliance's local time zone)."""
    with _operator_client() as alliance:
        ticket = _call(alliance.tickets.get_ticket, reference=reference)
        timeline = _call(alliance.tickets.timeline, ticket_id=ticket["ticket_id"])
    zone = _zone()
    console = Console()
    owner = ticket["responsible"]["name"] or ticket["responsible"]["person_id"] if ticket["responsible"] else "—"
    console.print(
        f"[bold]{ticket['reference']}[/bold] {escape(ticket['title'])}  \\[{ticket['status']}]\n"
        f"category {ticket['category']}, {ticket['handling_mode']}, district {ticket['district_id']}\n"
        f"owner {escape(owner)}, promised by {_local(ticket['promised_by'], zone)}"
        + (f", paused: {escape(ticket['paused_because'])}" if ticket["paused_because"] else ""),
        highlight=False,
    )
    table = Table(f"when {_zone_label(zone)}", "who", "what", "text")
    for entry in timeline:
        step = entry["kind"] + (f" {entry['from_status']}→{entry['to_status']}" if entry["to_status"] else "")
        table.add_row(_local(entry["at"], zone, with_zone=False), entry["actor"] or "", step, entry["text"] or "")
    console.print(table)


@tickets.command("assign")
@click.argument("reference")
@click.option("--to", "assignee", required=True, help="Person id of the new owner.")
@click.option("--reason", required=True)
def tickets_assign(reference, assignee, reason):
    """Give a ticket to another owner, with the reason recorded."""
    with _operator_client() as alliance:
        ticket = _call(alliance.tickets.get_ticket, reference=reference)
        _call(alliance.tickets.assign_ticket, ticket_id=ticket["ticket_id"], assignee_id=assignee, reason=reason)
        moved = _call(alliance.tickets.get_ticket, reference=reference)
    owner = moved["responsible"] or {}
    click.echo(f"{moved['reference']}: owner {owner.get('name') or owner.get('person_id')} ({moved['status']})")


@main.group()
def activities():
    """Activities: list and show."""


# ``activities list`` prints this many characters of each id; ``activities show`` takes them back.
SHORT_ID = 8


@activities.command("list")
@click.option("--district", default=None)
@click.option("--type", "kind", default=None)
@click.option("--status", default=None)
@click.option("--open", "open_", is_flag=True, help="Open for registration now.")
@click.option("--limit", default=50, show_default=True)
def activities_list(district, kind, status, open_, limit):
    """Activities by start time; `activities show` takes the short id printed here."""
    with _operator_client() as alliance:
        page = _call(
            alliance.events.list_activities,
            district_id=district,
            type=kind,
            status=status,
            open_for_registration=open_,
            limit=limit,
        )
    zone = _zone()
    table = Table(pad_edge=False, collapse_padding=True)
    table.add_column("id", no_wrap=True, min_width=SHORT_ID)
    table.add_column(f"starts {_zone_label(zone)}", min_width=10)
    for header in ("type", "title", "organisers", "status", "capacity"):
        table.add_column(header, overflow="fold")
    for a in page["items"]:
        table.add_row(
            a["activity_id"][:SHORT_ID],
            _local(a["starts_at"], zone, with_zone=False),
            a["type"],
            a["title"],
            ", ".join(a["organisers"]),
            a["status"],
            str(a["capacity"]),
        )
    Console().print(table)


_HEX_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]{0,35}")


def _resolve_activity(alliance, given):
    """The full id of the activity whose id is ``given`` or starts with it (as `activities list` prints)."""
    text = given.strip().lower()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if not _HEX_PREFIX.fullmatch(text):
        raise click.BadParameter(
            f"{given!r} is neither an activity id nor the start of one (hexadecimal, as `activities list` prints)",
            param_hint="ACTIVITY_ID",
        )
    matches, cursor = [], None
    while True:
        page = _call(alliance.events.list_activities, limit=200, cursor=cursor)
        matches += [a for a in page["items"] if a["activity_id"].startswith(text)]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if not matches:
        raise click.ClickException(f"no activity id starts with {given}")
    if len(matches) > 1:
        listed = "; ".join(f"{a['activity_id']} {a['title']}" for a in matches[:10])
        more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
        raise click.ClickException(
            f"{given} is the start of {len(matches)} activity ids ({listed}{more}); give more of the id"
        )
    return matches[0]["activity_id"]


@activities.command("show")
@click.argument("activity_id")
def activities_show(activity_id):
    """One activity with its registrations and attendance; ACTIVITY_ID may be the short id `list` prints."""
    with _operator_client() as alliance:
        activity_id = _resolve_activity(alliance, activity_id)
        activity = _call(alliance.events.get_activity, activity_id=activity_id)
        figures = _call(alliance.events.attendance, activity_id=activity_id)
    zone = _zone()
    console = Console()
    console.print(
        f"[bold]{escape(activity['title'])}[/bold] \\[{activity['status']}] {activity['type']}"
        f"  {activity['activity_id']}\n"
        f"{_local(activity['starts_at'], zone)} – {_local(activity['ends_at'], zone)} at {escape(activity['venue'])}\n"
        f"organisers {', '.join(activity['organisers'])}; capacity {activity['capacity']}",
        highlight=False,
    )
    table = Table("confirmed", "attended", "no-shows", "waiting", "cancelled", "attendance rate")
    table.add_row(
        *(str(figures[k]) for k in ("confirmed", "attended", "no_shows", "waitlisted", "cancelled")),
        "—" if figures["attendance_rate"] is None else f"{figures['attendance_rate']:.0%}",
    )
    console.print(table)


KEY_STATES = {
    "current": "seals every number written",
    "retiring": "being re-sealed under the current key",
    "incoming": "held to read (newer than the current key)",
    "unknown": "not held by the registry: these numbers cannot be read",
}


@main.command("id-card-keys")
def id_card_keys():
    """Where the ID-card key rotation stands: numbers under each key (exit 1 if some cannot be read)."""
    with _operator_client() as alliance:
        report = _call(alliance.registry.id_card_keys)
    console = Console()
    table = Table("key id", "state", "numbers", "")
    for key in report["keys"]:
        table.add_row(str(key["key_id"]), key["state"], str(key["numbers"]), KEY_STATES[key["state"]])
    console.print(table)
    if report["done"]:
        console.print(f"every number is sealed under the current key {report['current_key_id']}", highlight=False)
    else:
        console.print(f"{report['to_reseal']} number(s) still to re-seal under key {report['current_key_id']}")
    for key_id in report["remove_from_config"]:
        console.print(
            f"key {key_id} is no longer used: remove it from REGISTRY_ID_CARD_KEYS_PREVIOUS, then restart the registry",
            highlight=False,
        )
    if report["unreadable"]:
        console.print(
            f"[red]{report['unreadable']} number(s) under a key the registry does not hold: put it back in "
            "REGISTRY_ID_CARD_KEYS_PREVIOUS[/red]"
        )
    raise SystemExit(1 if report["unreadable"] else 0)


# ``alliance changes``: every service's record of who changed an entity, merged ---------------------

ENTITY_OPTIONS = ("merchant", "person", "ticket", "activity")


def _changes_of(alliance, service, entity, entity_id, since, until, limit):
    """The changes ``service`` made to the entity, oldest first, at most ``limit``."""
    found, cursor = [], None
    while len(found) < limit:
        page = getattr(alliance, service).list_changes(
            entity=entity,
            entity_id=entity_id,
            since=since,
            until=until,
            limit=min(200, limit - len(found)),
            cursor=cursor,
        )
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return found


def _brief(summary, width=80):
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in summary.items())
    return text if len(text) <= width else text[: width - 1] + "…"


@main.command()
@click.option("--merchant", help="A merchant's id.")
@click.option("--person", help="A person's id.")
@click.option("--ticket", help="A ticket's id or its reference (DM-2026-000001).")
@click.option("--activity", help="An activity's id, or its start as `activities list` prints.")
@click.option("--since", type=click.DateTime(), default=None, help="From this time (the alliance's local time).")
@click.option("--until", type=click.DateTime(), default=None, help="Before this time (local).")
@click.option("--limit", default=200, show_default=True, help="At most this many changes from each service.")
@click.option("--service", "names", multiple=True, help="Ask only this service (repeatable); all by default.")
def changes(merchant, person, ticket, activity, since, until, limit, names):
    """Who changed a merchant, a person, a ticket or an activity, in every service, oldest first
    (exit 1 if a service did not answer)."""
    asked = zip(ENTITY_OPTIONS, (merchant, person, ticket, activity), strict=True)
    given = {name: value for name, value in asked if value}
    if len(given) != 1:
        raise click.UsageError("give one of --merchant, --person, --ticket, --activity")
    [(entity, entity_id)] = given.items()
    zone = _zone()
    since, until = (None if t is None else t.replace(tzinfo=zone).isoformat() for t in (since, until))
    services = [name for name in _services(names, False) if load_config(name).get("DATABASE_URL")]
    rows, missing = [], []
    with _operator_client() as alliance:
        if entity == "ticket" and _uuid(entity_id) is None:
            entity_id = _call(alliance.tickets.get_ticket, reference=entity_id)["ticket_id"]
        elif entity == "activity":
            entity_id = _resolve_activity(alliance, entity_id)
        for service in services:
            try:
                rows += _changes_of(alliance, service, entity, str(entity_id), since, until, limit)
            except AllianceError as exc:
                missing.append(f"{service}: {type(exc).__name__}: {exc}")
    rows.sort(key=lambda c: (datetime.fromisoformat(c["at"]), c["service"], c["change_id"]))
    console = Console()
    table = Table(
        title=f"changes to {entity} {entity_id}",
        caption="by: who acted (system:<name> for a system, event:<type> for an event handled) · for: on whose behalf",
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column(f"when {_zone_label(zone)}", no_wrap=True, min_width=16)
    for header in ("service", "change", "by", "for", "correlation", "other entities", "input"):
        table.add_column(header, overflow="fold")
    own = f"{entity}:{entity_id}"
    for c in rows:
        table.add_row(
            _local(c["at"], zone, with_zone=False),
            c["service"],
            c["command"],
            c["acted_by"],
            c["on_behalf_of"] or "",
            c["correlation_id"],
            ", ".join(e for e in c["entities"] if e != own),
            escape(_brief(c["summary"])),
        )
    console.print(table)
    console.print(f"{len(rows)} change(s) from {len(services) - len(missing)} service(s)", highlight=False)
    for problem in missing:
        console.print(f"[red]no answer from {escape(problem)}[/red]")
    raise SystemExit(1 if missing else 0)
