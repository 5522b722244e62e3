"""What the commands of ``alliance`` share: the command group, local time, tokens and clients.

``cli`` adds the commands that change things, ``lookups`` those that read; both import this, and
this imports neither.
"""

import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from alliance_platform.config import installed_services, load_config, platform_defaults


def _services(names, all_):
    if all_ or not names:
        return installed_services()
    unknown = set(names) - set(installed_services())
    if unknown:
        raise click.BadParameter(f"unknown services {sorted(unknown)}; installed: {installed_services()}")
    return list(names)


def _zone():
    """The alliance's local time zone (``TIMEZONE`` of the platform's defaults)."""
    return ZoneInfo(str(platform_defaults()["TIMEZONE"]))


def _local(iso, zone, with_zone=True):
    """``2026-12-15 17:30 +08:00``: a stored instant in the alliance's local time, with its offset."""
    if not iso:
        return "—"
    try:
        at = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone)
    return at.strftime("%Y-%m-%d %H:%M") + (f" {_offset(at)}" if with_zone else "")


def _offset(at):
    text = at.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def _zone_label(zone):
    """A table header's zone marker, e.g. ``(+08:00)``."""
    return f"({_offset(datetime.now(zone))})"


def _token_service():
    from alliance_platform.identity import TokenService

    return TokenService.from_config(load_config("registry"))


@click.group()
def main():
    """Operate the alliance platform: migrations, identities, dead letters, the local system."""
    from alliance_platform import logs

    logs.configure(fmt="console", level="WARNING", stream=sys.stderr)


def _uuid(text):
    import uuid

    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def _operator_client(timeout=10.0):
    """An RPC client acting as the operator CLI, with a token minted from the configured secret."""
    from alliance_platform.rpc import AllianceClient

    config = load_config("registry")
    token = _token_service().issue("alliance-cli", "system", roles=["admin", "operator", "system"], districts=["*"])
    return AllianceClient(config["AMQP_URI"], token, timeout=timeout)
