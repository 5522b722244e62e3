"""The console's own files: htmx (vendored from npm ``htmx.org``, licence beside it), its CSS and
the CJK web font (``fonts.py``)."""

from importlib import resources

from werkzeug.wrappers import Response

from . import fonts
from .web import page

FILES = {
    "htmx.min.js": "text/javascript; charset=utf-8",
    "htmx.LICENSE": "text/plain; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


@page("GET", "/static/cjk-font", signed_in=False)
def cjk_font(visit):
    made = fonts.web_font(visit.service.call.worker_ctx.config.get("CONSOLE_CJK_FONT"))
    if made is None:
        return Response("no CJK font installed", status=404, headers={"Content-Type": "text/plain"})
    face, gzipped, media_type = made
    headers = {"Content-Type": media_type, "Cache-Control": "public, max-age=604800", "Vary": "Accept-Encoding"}
    if "gzip" in visit.request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(gzipped, status=200, headers=headers)
    return Response(face, status=200, headers=headers)


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
