"""``alliance``: the operator's command line.

Exit codes scripts can trust: 0 success, 1 the operation failed, 2 bad usage.
"""

import sys

import click

from .config import installed_services, load_config


def _services(names, all_):
    if all_ or not names:
        return installed_services()
    unknown = set(names) - set(installed_services())
    if unknown:
        raise click.BadParameter(f"unknown services {sorted(unknown)}; installed: {installed_services()}")
    return list(names)


def _token_service():
    from .identity import TokenService

    return TokenService.from_config(load_config("registry"))


@click.group()
def main():
    """Operate the alliance platform: migrations, identities, dead letters, the local system."""
    from . import logs

    logs.configure(fmt="console", level="WARNING", stream=sys.stderr)


@main.command()
@click.argument("services", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every installed service (the default).")
def migrate(services, all_):
    """Create each service's database if needed and apply its pending migrations."""
    from .migrate import MigrationError, migrate_service

    for name in _services(services, all_):
        try:
            applied = migrate_service(name)
        except MigrationError as exc:
            raise click.ClickException(f"{name}: {exc}") from exc
        click.echo(f"{name}: {len(applied)} migration(s) applied" + (f": {', '.join(applied)}" if applied else ""))


@main.command()
@click.option("--subject", required=True, help="Person id, merchant id or system name.")
@click.option("--kind", type=click.Choice(["staff", "merchant", "system"]), required=True)
@click.option("--role", "roles", multiple=True, help="Repeat for several roles.")
@click.option("--district", "districts", multiple=True, help="District scope; '*' for all.")
@click.option("--merchant-id", default=None)
@click.option("--name", default=None)
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds.")
def token(subject, kind, roles, districts, merchant_id, name, ttl):
    """Print a signed identity token (uses the configured signing secret)."""
    try:
        click.echo(
            _token_service().issue(
                subject, kind, roles=roles, districts=districts, merchant_id=merchant_id, name=name, ttl=ttl
            )
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
