"""``alliance``: the operator's command line.

Exit codes scripts can trust: 0 success, 1 the operation failed, 2 bad usage.
"""

import sys
from pathlib import Path

import click

from alliance_platform.config import installed_services, load_config

from .common import _local, _operator_client, _services, _token_service, _uuid, _zone, _zone_label, main


@main.command()
@click.argument("services", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every installed service (the default).")
def migrate(services, all_):
    """Create each service's database if needed and apply its pending migrations."""
    from alliance_platform.migrate import MigrationError, describe, migrate_service

    for name in _services(services, all_):
        try:
            applied = migrate_service(name)
        except MigrationError as exc:
            raise click.ClickException(f"{name}: {exc}") from exc
        click.echo(f"{name}: {describe(applied)}")


@main.command()
@click.option(
    "--subject",
    required=True,
    help="Who calls: a person id from the registry (staff, or a merchant's owner or representative),"
    " or a system's name. For --kind merchant it is the person, never the merchant.",
)
@click.option("--kind", type=click.Choice(["staff", "merchant", "system"]), required=True)
@click.option("--role", "roles", multiple=True, help="Repeat for several roles; --kind merchant implies merchant.")
@click.option("--district", "districts", multiple=True, help="District scope; '*' for all.")
@click.option(
    "--merchant-id",
    default=None,
    help="With --kind merchant (and only then, required): the merchant the person acts for.",
)
@click.option("--name", default=None, help="The caller's name, as logs and timelines show it.")
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds.")
def token(subject, kind, roles, districts, merchant_id, name, ttl):
    """Print a signed identity token (signed with the people issuer's key, PEOPLE_SIGNING_KEY).

    \b
    A merchant's owner or representative:
      alliance token --kind merchant --subject PERSON_ID --merchant-id MERCHANT_ID
    Staff:   alliance token --kind staff --subject PERSON_ID --role staff --district aodele
    A system: alliance token --kind system --subject crm --role system --district '*'
    """
    if kind == "merchant":
        if merchant_id is None:
            raise click.UsageError(
                "--kind merchant needs --merchant-id (the merchant) and --subject the person id of its owner"
                " or representative"
            )
        subject_id, merchant_uuid = _uuid(subject), _uuid(merchant_id)
        if merchant_uuid is None:
            raise click.BadParameter(f"{merchant_id!r} is not a merchant id (a UUID)", param_hint="--merchant-id")
        if subject_id is None:
            raise click.BadParameter(
                f"{subject!r} is not a person id (a UUID); a merchant token's subject is the person",
                param_hint="--subject",
            )
        if subject_id == merchant_uuid:
            raise click.BadParameter(
                "is the merchant's id; it must be the person id of the owner or representative",
                param_hint="--subject",
            )
        subject, merchant_id, roles = str(subject_id), str(merchant_uuid), roles or ("merchant",)
    elif merchant_id is not None:
        raise click.UsageError(f"--merchant-id is only for --kind merchant (not {kind})")
    try:
        click.echo(
            _token_service().issue(
                subject, kind, roles=roles, districts=districts, merchant_id=merchant_id, name=name, ttl=ttl
            )
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command("demo-data")
def demo_data():
    """Load the demo register (merchants, people, Party members, honours, pairings); idempotent."""
    from rich.progress import Progress

    from . import demo_data as demo

    with _operator_client(timeout=120) as alliance, Progress(transient=True) as progress:
        task = progress.add_task("loading the demo register", total=len(demo.STEPS))
        counts = demo.load(alliance, progress=lambda step: progress.advance(task))
    click.echo(f"demo data: {demo.summary(counts)}")


@main.group("import")
def import_():
    """Bring rosters into the register."""


@import_.command("merchants")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), help="Default: the file's extension.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; import nothing.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for each step.")
def import_merchants(path, file_format, dry_run, timeout):
    """Import a merchant roster (CSV or XLSX): every row checked first, then all rows or none.

    Re-importing the same roster changes nothing (merchants are keyed on their credit code).
    Exits 1 when rows are rejected, after listing each row's errors.
    """
    import base64

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from alliance_platform.errors import ValidationError

    file_format = file_format or path.suffix.lstrip(".").lower()
    if file_format not in ("csv", "xlsx"):
        raise click.UsageError(f"cannot tell the format of {path.name}; pass --format csv or --format xlsx")
    content = base64.b64encode(path.read_bytes()).decode()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with _operator_client(timeout=timeout) as alliance, Progress(*columns, transient=True) as progress:
        task = progress.add_task(f"checking every row of {path.name}", total=2)
        try:
            report = alliance.registry.import_merchants(content=content, format=file_format, dry_run=True)
            if not dry_run:
                progress.update(task, advance=1, description=f"importing {report['rows']} rows")
                report = alliance.registry.import_merchants(content=content, format=file_format)
            progress.advance(task)
        except ValidationError as exc:
            progress.stop()
            _print_rejection(Console(), path, exc)
            sys.exit(1)
    verb = "would be" if dry_run else "were"
    click.echo(
        f"{path.name}: {report['rows']} rows; {report['created']} merchants {verb} registered, {report['updated']}"
        f" updated, {report['unchanged']} unchanged; {report['owners_registered']} owners {verb} registered"
    )


def _print_rejection(console, path, error):
    from rich.table import Table

    rows = error.fields.get("rows") if isinstance(error.fields, dict) else None
    if not rows:
        console.print(f"{path.name}: rejected, nothing imported: {error}")
        return
    table = Table("row", "credit code", "field", "problem", title=f"{path.name}: {error.message}")
    for row in rows:
        for field, messages in row["errors"].items():
            text = "; ".join(messages) if isinstance(messages, list) else str(messages)
            table.add_row(str(row["row"]), row.get("credit_code") or "", field, text)
    console.print(table)


@main.command()
@click.option("--no-demo-data", is_flag=True, help="Start the services without loading demo data.")
def up(no_demo_data):
    """Run all services in this terminal with merged, labelled logs; Ctrl-C stops them all."""
    from .supervisor import Supervisor

    supervisor = Supervisor(installed_services())
    supervisor.start()
    code = 1
    try:
        supervisor.wait_ready()
        if not no_demo_data:
            supervisor.say("loading demo data through the registry ...", "alliance: ")
            from . import demo_data as demo

            with _operator_client(timeout=120) as alliance:
                counts = demo.load(alliance)
            supervisor.say(f"demo data: {demo.summary(counts)}", "alliance: ")
        if "gateway" in supervisor.services:
            port = str(load_config("gateway")["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[-1]
            base = f"http://127.0.0.1:{port}"
            supervisor.say(
                f"HTTP: {base}/v1 (API), {base}/docs (its reference), {base}/console (the staff console;"
                " `make demo` ends with a one-time code to sign in)",
                "alliance: ",
            )
        supervisor.say("all services running; press Ctrl-C to stop them", "alliance: ")
        code = supervisor.wait()
    except (RuntimeError, KeyboardInterrupt) as exc:
        if isinstance(exc, RuntimeError):
            supervisor.say(f"error: {exc}", "alliance: ")
    finally:
        supervisor.stop()
    sys.exit(code)


@main.group("dead-letters")
def dead_letters():
    """Inspect and replay messages that failed every retry."""


@dead_letters.command("list")
@click.argument("service")
@click.option("--limit", default=100, show_default=True)
def dead_letters_list(service, limit):
    """List SERVICE's dead letters without removing them."""
    from rich.console import Console
    from rich.table import Table

    from .deadletters import list_dead_letters

    letters = list_dead_letters(load_config(service)["AMQP_URI"], service, limit=limit)
    zone = _zone()
    table = Table(
        "id",
        "event",
        "handler",
        "attempts",
        f"dead at {_zone_label(zone)}",
        "error",
        title=f"{service}: {len(letters)} dead letter(s)",
    )
    for letter in letters:
        table.add_row(
            letter.id,
            f"{letter.event_type} {letter.event_id}",
            letter.handler,
            str(letter.attempts),
            _local(letter.dead_at, zone, with_zone=False),
            letter.error[:120],
        )
    Console().print(table)


@dead_letters.command("replay")
@click.argument("service")
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Replay every dead letter of SERVICE.")
def dead_letters_replay(service, ids, all_):
    """Send dead letters back to the handler they failed in (by id, or --all)."""
    from .deadletters import replay_dead_letters

    if not ids and not all_:
        raise click.UsageError("name the dead letters to replay, or pass --all")
    try:
        replayed = replay_dead_letters(load_config(service)["AMQP_URI"], service, None if all_ else ids)
    except ValueError as exc:
        raise click.ClickException(f"{exc}; it stays in the dead letters for a person to look at") from exc
    missing = set(ids) - {letter.id for letter in replayed}
    click.echo(f"{service}: {len(replayed)} dead letter(s) replayed")
    if missing:
        raise click.ClickException(f"not found: {', '.join(sorted(missing))}")


@main.command()
@click.option("--write", "write_", is_flag=True, help="Write docs/CONTRACT.md and docs/contract/ under --root.")
@click.option("--check", is_flag=True, help="Exit 1 if a generated document under --root differs from the code.")
@click.option("--release", is_flag=True, help="Also record the contract as released (docs/contract/released/).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
def contract(write_, check, release, root):
    """The contract: every RPC method and event. Without options, print docs/CONTRACT.md.

    The machine-readable documents (JSON Schema per service, AsyncAPI for the events) are written
    by --write; --release records this version as the baseline a breaking change is judged against.
    """
    from . import contract as documents
    from .contract_docs import render

    if check:
        stale = documents.stale(root)
        for relative in stale:
            click.echo(f"stale: {relative} (regenerate: alliance contract --write)", err=True)
        sys.exit(1 if stale else 0)
    if write_ or release:
        for relative in documents.write(root):
            click.echo(f"wrote {relative}")
        if release:
            click.echo(f"released {documents.release(root)}")
        return
    click.echo(render(), nl=False)


@main.command()
@click.option("--month", required=True, help="YYYY-MM, the alliance's local month (TIMEZONE).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Default: report-YYYY-MM.html",
)
@click.option(
    "--self-contained",
    is_flag=True,
    help="Inline plotly.js (4.6 MB) in the page instead of sharing plotly-<version>.min.js beside it.",
)
def report(month, out_path, self_contained):
    """Write the month's report (demands, activities, honours, notifications) as an HTML page with charts.

    The page carries the glyphs of a CJK font installed here (Debian: fonts-wqy-microhei), so Chinese
    renders where no Chinese font is installed. Unless --self-contained, the charts' script is written
    once beside the page and shared by every month's report in that folder: copy both together.
    """
    from alliance_platform.errors import AllianceError

    from .report import find_cjk_font, gather, month_bounds, write

    try:
        month_bounds(month)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM, e.g. 2026-11", param_hint="--month") from exc
    out_path = out_path or Path(f"report-{month}.html")
    font = find_cjk_font()
    if font is None:
        click.echo(
            "warning: no CJK font installed to carry (Debian: apt-get install fonts-wqy-microhei); the page only"
            " names fonts, and a reader without any sees boxes for Chinese",
            err=True,
        )
    try:
        with _operator_client(timeout=30) as alliance:
            figures = gather(alliance, month)
    except AllianceError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    paths = write(figures, out_path, self_contained=self_contained, font=font)
    sizes = ", ".join(f"{path} ({path.stat().st_size // 1024} KiB)" for path in paths)
    click.echo(f"report for {month}: {sizes}")


@main.command()
def demo():
    """Play a scripted day at the service centre against the running system (after `make run`)."""
    from .demo import main as play

    play()


from . import keys_cli, lookups, systems_cli  # noqa: E402,F401  (keys; status, tickets, activities; systems)
