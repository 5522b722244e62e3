"""Everyday look-ups of the ``alliance`` command: system status, tickets and activities.

They call the services over RPC as the operator CLI (an identity minted from the configured
secret), and print tables. Exit codes: 0 success, 1 something is wrong (a service not ready, a
refused call), 2 bad usage.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

import click
import requests
from rich.console import Console
from rich.table import Table

from .cli import _operator_client, main
from .config import installed_services, load_config
from .errors import AllianceError
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
    amqp = urllib.parse.urlsplit(config["AMQP_URI"])
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


@main.command()
def status():
    """Each service's health, queue depths, outbox backlog and dead letters (exit 1 if one is not ready)."""
    console = Console()
    table = Table(
        "service", "ready", "database", "broker", "outbox backlog", "failing", "dead letters", "queued", "consumers"
    )
    queues = _queues(load_config(installed_services()[0]))
    all_ready = True
    for name in installed_services():
        code, report = _get_json(health_url(load_config(name)))
        ready = code == 200
        all_ready &= ready
        if not isinstance(report, dict):
            report = {"database": "?", "broker": f"no answer: {report}"}
        outbox = report.get("outbox") or {}
        mine = [depth for queue, depth in (queues or {}).items() if _belongs(queue, name)]
        table.add_row(
            name,
            "[green]yes[/green]" if ready else "[red]no[/red]",
            str(report.get("database", "?")),
            str(report.get("broker", "?")),
            str(outbox.get("backlog", "?")),
            str(outbox.get("failing", "?")),
            str(report.get("dead_letters", "?")),
            "?" if queues is None else str(sum(m for m, _ in mine)),
            "?" if queues is None else str(sum(c for _, c in mine)),
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
    table = Table("reference", "status", "category", "district", "title", "owner", "promised by")
    for t in page["items"]:
        table.add_row(
            t["reference"],
            t["status"],
            t["category"],
            t["district_id"],
            t["title"],
            t["responsible_id"] or "—",
            t["resolution_due_at"][:16],
        )
    Console().print(table)


@tickets.command("show")
@click.argument("reference")
def tickets_show(reference):
    """One ticket and its timeline."""
    with _operator_client() as alliance:
        ticket = _call(alliance.tickets.get_ticket, reference=reference)
        timeline = _call(alliance.tickets.timeline, ticket_id=ticket["ticket_id"])
    console = Console()
    owner = ticket["responsible"]["name"] or ticket["responsible"]["person_id"] if ticket["responsible"] else "—"
    console.print(
        f"[bold]{ticket['reference']}[/bold] {ticket['title']}  [{ticket['status']}]\n"
        f"category {ticket['category']}, {ticket['handling_mode']}, district {ticket['district_id']}\n"
        f"owner {owner}, promised by {ticket['promised_by'][:16]}"
        + (f", paused: {ticket['paused_because']}" if ticket["paused_because"] else "")
    )
    table = Table("when", "who", "what", "text")
    for entry in timeline:
        step = entry["kind"] + (f" {entry['from_status']}→{entry['to_status']}" if entry["to_status"] else "")
        table.add_row(entry["at"][:16], entry["actor"] or "", step, entry["text"] or "")
    console.print(table)


@tickets.command("assign")
@click.argument("reference")
@click.option("--to", "assignee", required=True, help="Person id of the new owner.")
@click.option("--reason", required=True)
def tickets_assign(reference, assignee, reason):
    """Give a ticket to another owner, with the reason recorded."""
    with _operator_client() as alliance:
        ticket = _call(alliance.tickets.get_ticket, reference=reference)
        moved = _call(
            alliance.tickets.assign_ticket, ticket_id=ticket["ticket_id"], assignee_id=assignee, reason=reason
        )
    click.echo(f"{moved['reference']}: owner {moved['responsible_id']} ({moved['status']})")


@main.group()
def activities():
    """Activities: list and show."""


@activities.command("list")
@click.option("--district", default=None)
@click.option("--type", "kind", default=None)
@click.option("--status", default=None)
@click.option("--open", "open_", is_flag=True, help="Open for registration now.")
@click.option("--limit", default=50, show_default=True)
def activities_list(district, kind, status, open_, limit):
    """Activities by start time."""
    with _operator_client() as alliance:
        page = _call(
            alliance.events.list_activities,
            district_id=district,
            type=kind,
            status=status,
            open_for_registration=open_,
            limit=limit,
        )
    table = Table("id", "starts", "type", "title", "organisers", "status", "capacity")
    for a in page["items"]:
        table.add_row(
            a["activity_id"][:8],
            a["starts_at"][:16],
            a["type"],
            a["title"],
            ", ".join(a["organisers"]),
            a["status"],
            str(a["capacity"]),
        )
    Console().print(table)


@activities.command("show")
@click.argument("activity_id")
def activities_show(activity_id):
    """One activity with its registrations and attendance."""
    with _operator_client() as alliance:
        activity = _call(alliance.events.get_activity, activity_id=activity_id)
        figures = _call(alliance.events.attendance, activity_id=activity_id)
    console = Console()
    console.print(
        f"[bold]{activity['title']}[/bold] [{activity['status']}] {activity['type']}\n"
        f"{activity['starts_at'][:16]} – {activity['ends_at'][:16]} at {activity['venue']}\n"
        f"organisers {', '.join(activity['organisers'])}; capacity {activity['capacity']}"
    )
    table = Table("confirmed", "attended", "no-shows", "waiting", "cancelled", "attendance rate")
    table.add_row(
        *(str(figures[k]) for k in ("confirmed", "attended", "no_shows", "waitlisted", "cancelled")),
        "—" if figures["attendance_rate"] is None else f"{figures['attendance_rate']:.0%}",
    )
    console.print(table)
