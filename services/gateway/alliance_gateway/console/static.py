"""The console's own files: htmx (vendored from npm ``htmx.org``, licence beside it) and its CSS."""

from importlib import resources

from werkzeug.wrappers import Response

from .web import page

FILES = {
    "htmx.min.js": "text/javascript; charset=utf-8",
    "htmx.LICENSE": "text/plain; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


@page("GET", "/static/<name>", signed_in=False)
def static_file(visit, name):
    if name not in FILES:
        return Response("not found", status=404, headers={"Content-Type": "text/plain"})
    body = resources.files("alliance_gateway.console").joinpath("static", name).read_bytes()
    headers = {
        "Content-Type": FILES[name],
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, status=200, headers=headers)
