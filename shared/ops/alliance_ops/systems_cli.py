"""``alliance systems``: internal systems that act for people (docs/contract/DELEGATION.md).

    alliance systems register miniprogram --grant tickets.submit_ticket --kind merchant --district aodele
    alliance systems list [--all]
    alliance systems rotate SYSTEM_ID
    alliance systems revoke SYSTEM_ID --reason "..."

``register`` and ``rotate`` print the credential once: the registry keeps only its digest, so it
cannot be shown again (rotate for a new one). ``revoke`` ends the system's access at once: its
credential exchanges nothing and every service refuses the tokens it obtained.
"""

import click

from .common import _local, _operator_client, _zone, _zone_label, main


def _known_methods():
    """The RPC methods of the installed services, ``service.method``."""
    from alliance_platform.config import installed_services, service_class

    methods = set()
    for service in installed_services():
        cls = service_class(service)
        methods |= {f"{service}.{name}" for name in dir(cls) if hasattr(getattr(cls, name), "rpc_schema")}
    return methods


def _check_grants(grants):
    known = _known_methods()
    services = {method.split(".", 1)[0] for method in known}
    unknown = [g for g in grants if g not in known and not (g.endswith(".*") and g[:-2] in services)]
    if unknown:
        raise click.BadParameter(
            f"no such method {', '.join(unknown)} (service.method or service.*)", param_hint="--grant"
        )


def _print_credential(system):
    click.echo(f"system {system['name']}  id {system['system_id']}")
    click.echo(f"  grants {', '.join(system['grants'])}; acts for {', '.join(system['kinds'])}")
    click.echo(f"  in {', '.join(system['districts'])}; tokens of at most {system['max_ttl']} s")
    click.echo("credential (shown once; give it to the system's operators by a secure channel):")
    click.echo(system["credential"])


@main.group("systems")
def systems_group():
    """Internal systems acting for merchants or staff through delegation (registry)."""


@systems_group.command("register")
@click.argument("name")
@click.option("--grant", "grants", multiple=True, required=True, help="service.method or service.*; repeat.")
@click.option(
    "--kind", "kinds", multiple=True, required=True, type=click.Choice(["merchant", "staff"]), help="Repeat for both."
)
@click.option("--district", "districts", multiple=True, required=True, help="District id, or '*' for all; repeat.")
@click.option("--max-ttl", default=900, show_default=True, help="Longest lifetime of a token it obtains (seconds).")
def register(name, grants, kinds, districts, max_ttl):
    """Register an internal system and print its credential, once."""
    from alliance_platform.errors import AllianceError

    _check_grants(grants)
    with _operator_client() as alliance:
        try:
            system = alliance.registry.register_system(
                name=name, grants=list(grants), kinds=list(kinds), districts=list(districts), max_ttl=max_ttl
            )
        except AllianceError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_credential(system)


@systems_group.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Revoked systems too.")
def list_(include_revoked):
    """The internal systems registered, with their limits."""
    from rich.console import Console
    from rich.table import Table

    with _operator_client() as alliance:
        found = alliance.registry.list_systems(include_revoked=include_revoked)
    zone = _zone()
    table = Table(
        "name", "id", "grants", "acts for", "districts", "max ttl", f"credential issued {_zone_label(zone)}", "revoked"
    )
    for system in found:
        revoked = _local(system["revoked_at"], zone, with_zone=False) if system["revoked_at"] else ""
        if revoked:
            revoked += f" by {system['revoked_by']}: {system['revoked_reason']}"
        table.add_row(
            system["name"],
            system["system_id"],
            "\n".join(system["grants"]),
            ", ".join(system["kinds"]),
            ", ".join(system["districts"]),
            f"{system['max_ttl']} s",
            _local(system["credential_issued_at"], zone, with_zone=False),
            revoked,
        )
    Console().print(table if found else "no internal systems registered")


@systems_group.command("rotate")
@click.argument("system_id")
def rotate(system_id):
    """A new credential for a system (printed once); the old one exchanges nothing from now on."""
    from alliance_platform.errors import AllianceError

    with _operator_client() as alliance:
        try:
            system = alliance.registry.rotate_system_credential(system_id=system_id)
        except AllianceError as exc:
            raise click.ClickException(str(exc)) from exc
    _print_credential(system)


@systems_group.command("revoke")
@click.argument("system_id")
@click.option("--reason", required=True, help="Why: kept in the registry's history and the event.")
def revoke(system_id, reason):
    """End a system's access now: no more exchanges, and its tokens refused by every service."""
    from alliance_platform.errors import AllianceError

    with _operator_client() as alliance:
        try:
            system = alliance.registry.revoke_system(system_id=system_id, reason=reason)
        except AllianceError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"system {system['name']} ({system['system_id']}) revoked: its tokens are refused from now on")
