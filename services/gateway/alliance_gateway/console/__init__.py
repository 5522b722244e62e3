"""The staff console (工作台) under /console: server-rendered pages (Jinja2, a catalogue in zh-CN
and English, htmx where it helps), served by the gateway and only a client of the services — each
call carries the signed-in person's token and the services decide. ``served`` adds its entrypoints
to the gateway's class; ``docs/CONSOLE.md`` describes the pages."""

from . import activities, inbox, register, session, static, work  # noqa: F401  (they register their pages)
from .web import ROUTES, entrypoint


def served(cls):
    """One entrypoint per console page."""
    for route in ROUTES:
        handler = entrypoint(route)
        setattr(cls, handler.__name__, handler)
    return cls


__all__ = ["served"]
