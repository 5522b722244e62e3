"""The staff console (工作台) under /console: server-rendered pages (Jinja2, a catalogue in zh-CN
and English, htmx where it helps), served by the gateway and only a client of the services — each
call carries the signed-in person's token and the services decide. ``web.served`` adds its
entrypoints to the gateway's class; ``docs/CONSOLE.md`` describes the pages."""

from .web import served

__all__ = ["served"]
