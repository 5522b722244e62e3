"""Signing in with a one-time code sent to one's registered mobile (the registry sends it and
decides who may sign in), signing out; the session is the token in a cookie."""

from alliance_platform.errors import Conflict, Unauthenticated, ValidationError

from . import i18n
from .web import CSRF_COOKIE, PREFIX, YEAR, field_errors, page, safe_next


def _form(visit, step, status=200, errors=None, **context):
    return visit.render(
        "sign_in.html",
        status=status,
        step=step,
        errors=errors or {},
        next=safe_next(visit.request.values.get("next")),
        nav=False,
        **context,
    )


@page("GET", "/sign-in", signed_in=False)
def sign_in_page(visit):
    if visit.token and visit.seconds_left() > 0:
        return visit.redirect(safe_next(visit.request.args.get("next")))
    return _form(visit, "mobile", mobile="")


@page("POST", "/sign-in/code", signed_in=False)
def request_code(visit):
    mobile = visit.form.get("mobile", "").strip()
    try:
        sent = visit.anonymous("registry", "request_sign_in_code", mobile=mobile, client=visit.request.remote_addr)
    except ValidationError as exc:
        return _form(visit, "mobile", status=400, errors=field_errors(visit.lang, exc), mobile=mobile)
    except Conflict as exc:
        errors = {"mobile": [i18n.service_message(visit.lang, exc)]}
        return _form(visit, "mobile", status=429, errors=errors, mobile=mobile)
    minutes = max(int(sent.get("expires_in_seconds", 300)) // 60, 1)
    return _form(visit, "code", mobile=mobile, sent_minutes=minutes)


@page("POST", "/sign-in", signed_in=False)
def sign_in(visit):
    mobile = visit.form.get("mobile", "").strip()
    code = visit.form.get("code", "").strip()
    try:
        signed = visit.anonymous("registry", "sign_in", mobile=mobile, code=code)
    except ValidationError as exc:
        return _form(visit, "code", status=400, errors=field_errors(visit.lang, exc), mobile=mobile)
    except Unauthenticated as exc:
        errors = {"code": [i18n.service_message(visit.lang, exc)]}
        return _form(visit, "code", status=401, errors=errors, mobile=mobile)
    claims = visit.start_session(signed["token"])
    visit.set_cookie(CSRF_COOKIE, visit.new_csrf(), max_age=YEAR, samesite="Strict")  # a new one per session
    welcome = visit.t("signin.welcome", name=signed.get("name") or (claims or {}).get("name") or "")
    return visit.redirect(safe_next(visit.form.get("next")), "ok", welcome)


@page("POST", "/sign-out", signed_in=False)
def sign_out(visit):
    visit.end_session()
    return visit.redirect(f"{PREFIX}/sign-in", "info", visit.t("signin.signed_out"))


@page("GET", "/", signed_in=False)
def slash(visit):
    return visit.redirect(PREFIX)


@page("GET", "/report")
def report(visit):
    return visit.render("report.html", section="report")


@page("GET", "/<path:rest>", signed_in=False)
def not_a_page(visit, rest):
    return visit.render("error.html", status=404, title_key="error.not_found", detail=None, nav=bool(visit.token))
