"""The console's frame: its HTTP entrypoint, one visit (cookies, language, CSRF, the session's
token, flash messages), rendering and the outcome of a refusal as a page.

No state is kept on the server: the session is the signed-in person's token in a cookie, which
the gateway never verifies (it holds no secret) — every service called verifies it and decides.
What the console reads from the token unverified (name, expiry) is for display only."""

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import eventlet
import jwt
from werkzeug.wrappers import Response

from alliance_platform.errors import (
    AllianceError,
    Conflict,
    Forbidden,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)

from ..endpoints import CallerEndpoint
from . import i18n, rendering
from .i18n import LANG_COOKIE

PREFIX = "/console"
SESSION_COOKIE = "alliance_console"
CSRF_COOKIE = "alliance_csrf"
FLASH_COOKIE = "alliance_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_FLASH = 600  # characters of a flash message kept in its cookie
YEAR = 365 * 24 * 3600

# Nothing but the console itself: no inline script or style, no other origin, no framing.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self';"
    " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Route:
    verb: str
    path: str  # under PREFIX, werkzeug syntax
    fn: object
    signed_in: bool = True


ROUTES = []


def page(verb, path, signed_in=True):
    """Register ``fn(visit, **path_values)`` as the console's page at ``verb PREFIX+path``."""

    def register(fn):
        ROUTES.append(Route(verb, path, fn, signed_in))
        return fn

    return register


class SessionEnded(Exception):
    """The token is gone, expired or refused: back to the sign-in page."""


class ConsoleEndpoint(CallerEndpoint):
    """The entrypoint of one console page: whatever happens, the answer is an HTML page."""

    def caller_token(self, request):
        return request.cookies.get(SESSION_COOKIE) or None  # for the log line's actor; calls pass it too

    def answer(self, result, request):
        return result  # a page function answers with its Response

    def refuse(self, exc, request):
        lang = i18n.negotiate(request) if request is not None else i18n.DEFAULT
        body = rendering.render("error.html", lang, status=500, title_key="error.unexpected", detail=None, nav=False)
        return Response(body, status=500, headers=_page_headers())


def _page_headers():
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": POLICY,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


def _claims(token):
    if not token:
        return None
    try:
        return jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.InvalidTokenError:
        return None


def safe_next(target):
    """A place in the console to go back to (never another site)."""
    if not target:
        return PREFIX
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX) or target.startswith("//"):
        return PREFIX
    return target


class Visit:
    """One request to the console, as its page functions see it."""

    def __init__(self, service, request):
        self.service, self.request = service, request
        self.lang = i18n.negotiate(request)
        self._cookies = []
        self.token = request.cookies.get(SESSION_COOKIE) or None
        self.claims = _claims(self.token)
        self.csrf = request.cookies.get(CSRF_COOKIE) or ""
        if len(self.csrf) < 32:
            self.set_cookie(CSRF_COOKIE, self.new_csrf(), max_age=YEAR, samesite="Strict")
        if request.args.get("lang") in i18n.LANGUAGES:
            self.set_cookie(LANG_COOKIE, self.lang, max_age=YEAR, samesite="Lax", httponly=False)
        self.flash = _read_flash(request.cookies.get(FLASH_COOKIE))
        if self.flash is not None:
            self.delete_cookie(FLASH_COOKIE)
        self.now = service.clock.now()
        self._unread = None  # the navigation's unread count, when asked for ahead (prefetch_unread)

    # --- who -----------------------------------------------------------------------------------

    @property
    def person_id(self):
        return (self.claims or {}).get("sub")

    @property
    def name(self):
        return (self.claims or {}).get("name") or self.person_id

    @property
    def districts(self):
        return [d for d in (self.claims or {}).get("districts", []) if d != "*"]

    @property
    def all_districts(self):
        return "*" in (self.claims or {}).get("districts", [])

    @property
    def roles(self):
        return list((self.claims or {}).get("roles", []))

    def seconds_left(self):
        if not self.claims or "exp" not in self.claims:
            return 0
        return int(self.claims["exp"] - time.time())

    @property
    def secure(self):
        return self.request.is_secure or self.request.headers.get("X-Forwarded-Proto", "").lower() == "https"

    # --- calling the services as the signed-in person --------------------------------------------

    def call(self, service, method, **kwargs):
        """``service.method(**kwargs)`` with the session's token; a refused token ends the session."""
        try:
            return self.service.calls(service, method, kwargs, token=self.token)
        except Unauthenticated as exc:
            if self.token is None:
                raise
            raise SessionEnded(str(exc)) from exc

    def anonymous(self, service, method, **kwargs):
        """A call without a token (signing in)."""
        return self.service.calls(service, method, kwargs, token=None)

    # --- the answer -----------------------------------------------------------------------------

    @property
    def form(self):
        return self.request.form

    def t(self, key, **params):
        return i18n.translate(self.lang, key, **params)

    def set_cookie(self, name, value, max_age=None, samesite="Lax", httponly=True):
        self._cookies.append((name, value, {"max_age": max_age, "samesite": samesite, "httponly": httponly}))

    def delete_cookie(self, name):
        self._cookies.append((name, "", {"max_age": 0, "samesite": "Lax", "httponly": True, "expires": 0}))

    def new_csrf(self):
        self.csrf = secrets.token_urlsafe(32)
        return self.csrf

    def start_session(self, token):
        """Keep ``token`` in the session cookie for as long as it lives; its claims (unverified)."""
        self.token, self.claims = token, _claims(token)
        max_age = max(int((self.claims or {}).get("exp", 0) - time.time()), 0)
        self.set_cookie(SESSION_COOKIE, token, max_age=max_age, samesite="Lax")
        return self.claims

    def end_session(self):
        self.token = self.claims = None
        self.delete_cookie(SESSION_COOKIE)

    def say(self, kind, text):
        """A message shown on the next page (kind: ok, error, info)."""
        raw = json.dumps({"kind": kind, "text": str(text)[:MAX_FLASH]}, ensure_ascii=False)
        self.set_cookie(FLASH_COOKIE, base64.urlsafe_b64encode(raw.encode()).decode(), samesite="Lax")

    @property
    def htmx(self):
        return self.request.headers.get("HX-Request") == "true"

    def redirect(self, location, kind=None, text=None):
        if text:
            self.say(kind or "ok", text)
        if self.htmx:  # an XMLHttpRequest would follow a 303 itself and swap the page into a fragment
            return self.finish(Response("", status=200, headers={"HX-Redirect": location}))
        return self.finish(Response("", status=303, headers={"Location": location}))

    def prefetch_unread(self):
        """Ask for the navigation's unread count now, beside the page's own calls (a page that
        renders takes it; one that redirects leaves it)."""
        self._unread = eventlet.spawn(self._count_unread)

    def _count_unread(self):
        try:
            return self.call("notifications", "count_unread")["unread"]
        except (AllianceError, SessionEnded):
            return None

    def render(self, template, status=200, **context):
        nav = context.pop("nav", True)
        unread = None
        if nav and self.token:
            unread = self._unread.wait() if self._unread is not None else self._count_unread()
        body = rendering.render(template, self.lang, visit=self, nav=nav, unread=unread, status=status, **context)
        headers = _page_headers()
        if self.htmx:  # a whole page asked for by htmx (a refusal): it replaces the page, not a fragment
            headers.update({"HX-Retarget": "body", "HX-Reswap": "outerHTML", "HX-Push-Url": "false"})
        return self.finish(Response(body, status=status, headers=headers))

    def finish(self, response):
        if self._unread is not None:  # asked for ahead and not shown (a redirect): let it end here
            self._unread.wait()
        for name, value, options in self._cookies:
            response.set_cookie(name, value, path=PREFIX, secure=self.secure, **options)
        return response

    def csrf_ok(self):
        given = self.request.form.get(CSRF_FIELD) or self.request.headers.get(CSRF_HEADER) or ""
        cookie = self.request.cookies.get(CSRF_COOKIE) or ""
        return bool(cookie) and hmac.compare_digest(given.encode(), cookie.encode())

    def here(self):
        query = self.request.query_string.decode()
        return self.request.path + (f"?{query}" if query else "")


def _read_flash(value):
    if not value:
        return None
    try:
        flash = json.loads(base64.urlsafe_b64decode(value.encode()).decode())
        return {"kind": str(flash["kind"]), "text": str(flash["text"])[:MAX_FLASH]}
    except (ValueError, KeyError, TypeError):
        return None


def field_errors(lang, exc):
    """A ValidationError's field messages, translated where the catalogue knows them."""
    errors = {}
    for name, messages in (exc.fields or {}).items():
        if isinstance(messages, dict):  # nested (a list's items): flatten
            messages = [m for inner in messages.values() for m in (inner if isinstance(inner, list) else [inner])]
        if not isinstance(messages, list):
            messages = [messages]
        errors[name] = [i18n.service_message(lang, str(m)) for m in messages]
    if not errors:
        errors["_form"] = [i18n.service_message(lang, exc.message)]
    return errors


def visit(service, request, route, path_values):
    v = Visit(service, request)
    if request.method == "POST" and not v.csrf_ok():
        # Nothing is called: a form from elsewhere, or one whose cookie is gone.
        return v.render("error.html", status=403, title_key="error.csrf", detail=v.t("error.csrf_detail"), nav=False)
    if route.signed_in:
        if not v.token:
            return v.redirect(f"{PREFIX}/sign-in?next={quote(v.here())}")
        if v.seconds_left() <= 0:
            v.end_session()
            return v.redirect(f"{PREFIX}/sign-in?next={quote(v.here())}", "info", v.t("signin.expired"))
    if request.method == "GET" and v.token and not v.htmx:  # a whole page, with the navigation
        v.prefetch_unread()
    try:
        return route.fn(v, **path_values)
    except SessionEnded:
        v.end_session()
        return v.redirect(f"{PREFIX}/sign-in", "info", v.t("signin.expired"))
    except Forbidden as exc:
        return v.render("error.html", status=403, title_key="error.forbidden", detail=i18n.service_message(v.lang, exc))
    except NotFound as exc:
        return v.render("error.html", status=404, title_key="error.not_found", detail=i18n.service_message(v.lang, exc))
    except Conflict as exc:
        return v.render("error.html", status=409, title_key="error.conflict", detail=i18n.service_message(v.lang, exc))
    except ValidationError as exc:
        detail = "; ".join(f"{k}: {' '.join(m)}" for k, m in field_errors(v.lang, exc).items())
        return v.render("error.html", status=400, title_key="error.invalid", detail=detail)
    except (ServiceTimeout, ServiceUnavailable) as exc:
        return v.render("error.html", status=503, title_key="error.unavailable", detail=str(exc), nav=False)


def entrypoint(route):
    def handler(self, request, **path_values):
        return visit(self, request, route, path_values)

    name = f"console__{route.fn.__module__.rsplit('.', 1)[-1]}__{route.fn.__name__}"
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = f"{route.verb} {PREFIX}{route.path} (console)"
    return ConsoleEndpoint.decorator(route.verb, PREFIX + route.path, expected_exceptions=(AllianceError,))(handler)
