"""Activities of the three districts: a week's calendar and a list of what is coming, an
activity's roster, waiting list and quotas, the check-in page a volunteer at the door uses on a
phone, and the attendance after the event."""

import uuid
from datetime import date, datetime, time, timedelta

from eventlet.greenpool import GreenPool

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError

from . import i18n
from .rendering import ZONE
from .web import PREFIX, field_errors, page

PAGE_SIZE = 100
NAMES_LOOKED_UP = 200  # registrants whose names an activity's page shows (the rest by id)
LOOKUPS_IN_FLIGHT = 8


def _districts(visit):
    try:
        return visit.call("registry", "list_districts")
    except (Forbidden, NotFound):
        return []


def _week_start(visit):
    asked = visit.request.args.get("week")
    try:
        day = date.fromisoformat(asked) if asked else visit.now.astimezone(ZONE).date()
    except ValueError:
        day = visit.now.astimezone(ZONE).date()
    return day - timedelta(days=day.weekday())


@page("GET", "/activities")
def activities(visit):
    args = visit.request.args
    district = args.get("district") or None
    listing = args.get("view") == "list"
    query = {"limit": PAGE_SIZE}
    if district:
        query["district_id"] = district
    if listing:
        monday = None
        query["starts_after"] = visit.now.isoformat()
    else:
        monday = _week_start(visit)
        start = datetime.combine(monday, time(0), ZONE)
        query["starts_after"] = start.isoformat()
        query["starts_before"] = (start + timedelta(days=7)).isoformat()
    found = visit.call("events", "list_activities", **query)
    items = sorted(found["items"], key=lambda a: a["starts_at"])
    days = []
    if monday is not None:
        for offset in range(7):
            day = monday + timedelta(days=offset)
            on_day = [a for a in items if datetime.fromisoformat(a["starts_at"]).astimezone(ZONE).date() == day]
            days.append({"date": day, "activities": on_day})
    return visit.render(
        "activities.html",
        section="activities",
        listing=listing,
        district=district,
        districts=_districts(visit),
        activities=items,
        days=days,
        monday=monday,
        previous_week=(monday - timedelta(days=7)).isoformat() if monday else None,
        next_week=(monday + timedelta(days=7)).isoformat() if monday else None,
    )


def _names(visit, registrations):
    """person_id -> name for the registrants the registry lets the caller read: one
    ``resolve_audience`` of their ids per district they registered in (at most three calls, side
    by side); a district outside the caller's scope, or a caller the audience is closed to (a
    volunteer), leaves those registrants shown by id."""
    by_district = {}
    for r in registrations[:NAMES_LOOKED_UP]:
        if _is_uuid(r["person_id"]):  # the others are not the registry's (a system's subject)
            by_district.setdefault(r.get("district_id"), set()).add(str(r["person_id"]))

    def names_in(ids):
        try:
            audience = visit.call("registry", "resolve_audience", person_ids=sorted(ids), limit=len(ids))
        except (Forbidden, ValidationError):
            return {}
        return {c["id"]: c["name"] for c in audience["contacts"] if c["kind"] == "person"}

    found = {}
    for names in GreenPool(LOOKUPS_IN_FLIGHT).imap(names_in, by_district.values()):
        found.update(names)
    return found


def _is_uuid(text):
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def _roster(registrations):
    seated = [r for r in registrations if r["status"] in ("confirmed", "attended", "no_show")]
    waiting = sorted((r for r in registrations if r["status"] == "waitlisted"), key=lambda r: r["place"] or 0)
    return seated, waiting


@page("GET", "/activities/<uuid:activity_id>")
def activity_page(visit, activity_id):
    activity = visit.call("events", "get_activity", activity_id=str(activity_id))
    registrations = visit.call("events", "list_registrations", activity_id=str(activity_id))
    seated, waiting = _roster(registrations)
    names = _names(visit, seated + waiting)
    taken = {}
    for r in seated:
        taken[r["district_id"]] = taken.get(r["district_id"], 0) + 1
    attendance = None
    if activity["status"] == "completed" or datetime.fromisoformat(activity["starts_at"]) <= visit.now:
        try:
            attendance = visit.call("events", "attendance", activity_id=str(activity_id))
        except Forbidden:
            attendance = None
    return visit.render(
        "activity.html",
        section="activities",
        activity=activity,
        seated=seated,
        waiting=waiting,
        taken=taken,
        attendance=attendance,
        names=names,
    )


def _check_in_page(visit, activity_id, status=200, errors=None, code=""):
    activity = visit.call("events", "get_activity", activity_id=str(activity_id))
    return visit.render(
        "check_in.html", status=status, section="activities", activity=activity, errors=errors or {}, code=code
    )


@page("GET", "/activities/<uuid:activity_id>/check-in")
def check_in_page(visit, activity_id):
    return _check_in_page(visit, activity_id)


@page("POST", "/activities/<uuid:activity_id>/check-in")
def check_in(visit, activity_id):
    code = visit.form.get("code", "").strip().upper()
    try:
        checked = visit.call("events", "check_in", activity_id=str(activity_id), code=code)
    except ValidationError as exc:
        return _check_in_page(visit, activity_id, 400, field_errors(visit.lang, exc), code)
    except (NotFound, Conflict) as exc:
        status = 404 if isinstance(exc, NotFound) else 409
        return _check_in_page(visit, activity_id, status, {"code": [i18n.service_message(visit.lang, exc)]}, code)
    who = checked.get("child_name") or _names(visit, [checked]).get(checked["person_id"]) or checked["person_id"]
    return visit.redirect(f"{PREFIX}/activities/{activity_id}/check-in", "ok", visit.t("checkin.done", who=who))
