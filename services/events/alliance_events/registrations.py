"""Registration, waiting list, check-in and attendance.

Registering locks the activity's row for the rest of the transaction, so concurrent registrations
are decided one at a time against the real counts: an activity is never overbooked, and its
waiting list keeps arrival order. A cancellation hands its seat, in the same transaction, to the
first waiting registration that fits.
"""

import io
import uuid

import psycopg.errors
import segno

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError

from . import domain
from .activities import summary_of

OPEN = (domain.PUBLISHED,)
_AUDIENCE_ROLES = {"party_members": {"party_member"}, "staff": {"staff", "admin", "branch_secretary", "volunteer"}}


def _seats(activity):
    return domain.Seats(
        activity["capacity"], activity["quotas"], activity["confirmed_count"], activity["confirmed_by_district"]
    )


# Moves an activity's seat counters; its row is locked by the caller.
_MOVE_COUNTERS = (
    "UPDATE activities SET confirmed_count = confirmed_count + %(confirmed)s,"
    " confirmed_by_district = jsonb_set(confirmed_by_district, ARRAY[%(district)s],"
    "   to_jsonb(coalesce((confirmed_by_district ->> %(district)s)::int, 0) + %(confirmed)s)),"
    " waiting_count = waiting_count + %(waiting)s,"
    " waitlist_last = waitlist_last + %(joined)s"
    " WHERE id = %(activity_id)s"
)


def _count(session, activity, district, confirmed=0, waiting=0, joined_queue=False):
    """Move the activity's seat counters (its row is locked by the caller)."""
    return session.fetchone(
        _MOVE_COUNTERS + " RETURNING *",
        {
            "activity_id": activity["id"],
            "district": district,
            "confirmed": confirmed,
            "waiting": waiting,
            "joined": int(joined_queue),
        },
    )


def _registrant(office, cmd):
    """Who registers, for which merchant and district: callers register themselves (or their
    child); only internal systems and administrators register someone else."""
    caller = office.caller
    acting_for_others = caller.kind == "system" or caller.is_admin
    person_id = cmd.get("person_id") or caller.subject
    if person_id != caller.subject and not acting_for_others:
        raise Forbidden("a person registers only themselves (or their child)")
    named = None if cmd.get("merchant_id") is None else str(cmd["merchant_id"])
    if caller.kind == "merchant" and named not in (None, caller.merchant_id):
        raise Forbidden("a merchant's representative registers for its own shop only")
    merchant_id = caller.merchant_id if caller.kind == "merchant" else named
    district = cmd.get("district_id")
    own_districts = sorted(d for d in caller.districts if d != "*")
    if district is None:
        if len(own_districts) != 1:
            raise ValidationError("district needed", {"district_id": ["your identity names no single district"]})
        district = own_districts[0]
    elif not acting_for_others and district not in own_districts:
        raise Forbidden(f"you do not belong to {district}")
    return person_id, merchant_id, district


def _check_audience(office, activity, district, merchant_id, cmd):
    audience = activity["audience"]
    districts = audience.get("districts") or []
    if districts and district not in districts:
        raise Forbidden(f"{activity['title']} is for {', '.join(districts)}")
    kinds = set(audience.get("kinds") or [])
    if "children" in kinds and not cmd.get("child_name"):
        raise ValidationError("child needed", {"child_name": ["this activity is for merchants' children"]})
    if cmd.get("child_name") and "children" not in kinds:
        raise ValidationError("not for children", {"child_name": ["this activity does not take children"]})
    caller = office.caller
    if caller.kind == "system" or caller.is_admin or "children" in kinds:
        return
    allowed = ("merchants" in kinds and caller.kind == "merchant") or any(
        caller.has_any_role(_AUDIENCE_ROLES.get(kind, ())) for kind in kinds
    )
    if not allowed:
        raise Forbidden(f"{activity['title']} is for {', '.join(sorted(kinds))}")


def register(office, cmd):
    person_id, merchant_id, district = _registrant(office, cmd)
    child = cmd.get("child_name") or ""
    # Asked before the activity's lock, so that registrations wait for each other as briefly as
    # possible; a twin racing past this is stopped by the unique index (registrations_once).
    already = office.session.fetchone(
        "SELECT status FROM registrations WHERE activity_id = %s AND person_id = %s"
        " AND coalesce(child_name, '') = %s AND status <> 'cancelled'",
        (str(cmd["activity_id"]), person_id, child),
    )
    activity = office.load(cmd["activity_id"])  # the lock that serialises registrations
    if activity["status"] not in OPEN:
        raise Conflict(f"{activity['title']} is {activity['status']}: registration is not open")
    if not activity["registration_opens_at"] <= office.now < activity["registration_closes_at"]:
        raise Conflict(
            f"registration for {activity['title']} is open from {activity['registration_opens_at'].isoformat()}"
            f" to {activity['registration_closes_at'].isoformat()}"
        )
    _check_audience(office, activity, district, merchant_id, cmd)
    if already:
        raise Conflict(f"already registered for {activity['title']} ({already['status']})")
    confirmed = _seats(activity).fits(district)
    try:
        # The seat counters and the registration in one statement: one round trip under the lock.
        # ``position`` orders the waiting list; ``place`` is where the registrant stands in it now.
        registration = office.session.fetchone(
            f"WITH counted AS ({_MOVE_COUNTERS} RETURNING waitlist_last, waiting_count)"
            " INSERT INTO registrations (id, activity_id, person_id, merchant_id, district_id, child_name, child_age,"
            "   status, position, check_in_code, registered_at, confirmed_at)"
            " SELECT %(id)s, %(activity_id)s, %(person_id)s, %(merchant_id)s, %(district)s, %(child_name)s,"
            "   %(child_age)s, %(status)s, CASE WHEN %(confirmed)s = 1 THEN NULL ELSE counted.waitlist_last END,"
            "   %(code)s, %(now)s, %(confirmed_at)s FROM counted"
            " RETURNING *, (SELECT waiting_count FROM counted) AS place",
            {
                "id": str(uuid.uuid4()),
                "activity_id": activity["id"],
                "person_id": person_id,
                "merchant_id": merchant_id,
                "district": district,
                "child_name": cmd.get("child_name"),
                "child_age": cmd.get("child_age"),
                "status": domain.CONFIRMED if confirmed else domain.WAITLISTED,
                "confirmed": int(confirmed),
                "waiting": int(not confirmed),
                "joined": int(not confirmed),
                "code": domain.check_in_code(),
                "now": office.now,
                "confirmed_at": office.now if confirmed else None,
            },
        )
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "registrations_once":
            raise
        raise Conflict(f"already registered for {activity['title']}") from exc
    if confirmed:
        _announce(office, activity, registration, "registration_confirmed", check_in_code=registration["check_in_code"])
    else:
        _announce(office, activity, registration, "registration_waitlisted", position=registration["place"])
    # No QR code here: drawing it would hold the activity's lock longer; list_registrations has it.
    return {
        **present(registration, activity, qr=False),
        "check_in_code": registration["check_in_code"] if confirmed else None,
    }


def cancel(office, registration_id):
    registration = _load(office, registration_id)
    activity = office.load(registration["activity_id"])
    caller = office.caller
    if registration["person_id"] != caller.subject and not (caller.is_admin or caller.kind == "system"):
        raise Forbidden("only the registrant may cancel this registration")
    registration = _load(office, registration_id)  # read again under the activity's lock
    if registration["status"] not in (domain.CONFIRMED, domain.WAITLISTED):
        raise Conflict(f"the registration is {registration['status']}: nothing to cancel")
    if activity["status"] not in (domain.PUBLISHED, domain.REGISTRATION_CLOSED):
        raise Conflict(f"{activity['title']} is {activity['status']}: registrations can no longer change")
    was = registration["status"]
    registration = office.session.fetchone(
        "UPDATE registrations SET status = 'cancelled', cancelled_at = %s WHERE id = %s RETURNING *",
        (office.now, registration["id"]),
    )
    _announce(office, activity, registration, "registration_cancelled", was=was)
    if was == domain.CONFIRMED:
        activity = _count(office.session, activity, registration["district_id"], confirmed=-1)
    else:
        activity = _count(office.session, activity, registration["district_id"], waiting=-1)
    promoted = None
    if was == domain.CONFIRMED:
        waiting = office.session.fetchall(
            "SELECT * FROM registrations WHERE activity_id = %s AND status = 'waitlisted' ORDER BY position",
            (activity["id"],),
        )
        chosen = domain.first_that_fits(waiting, _seats(activity))
        if chosen is not None:
            promoted = office.session.fetchone(
                "UPDATE registrations SET status = 'confirmed', position = NULL, confirmed_at = %s"
                " WHERE id = %s RETURNING *",
                (office.now, chosen["id"]),
            )
            _count(office.session, activity, promoted["district_id"], confirmed=1, waiting=-1)
            _announce(office, activity, promoted, "registration_promoted", check_in_code=promoted["check_in_code"])
    return {
        "cancelled": present(registration, activity),
        "promoted": None if promoted is None else present(promoted, activity),
    }


def check_in(office, activity_id, code):
    activity = office.load(activity_id, lock=False)
    office.require_manager(activity)
    if activity["status"] not in (domain.PUBLISHED, domain.REGISTRATION_CLOSED, domain.IN_PROGRESS):
        raise Conflict(f"{activity['title']} is {activity['status']}: no check-in")
    registration = office.session.fetchone(
        "SELECT * FROM registrations WHERE activity_id = %s AND check_in_code = %s FOR UPDATE",
        (activity["id"], code.strip().upper()),
    )
    if registration is None:
        raise NotFound(f"no registration with code {code} for {activity['title']}")
    if registration["status"] == domain.ATTENDED:
        raise Conflict(f"already checked in at {registration['checked_in_at'].isoformat()}")
    if registration["status"] != domain.CONFIRMED:
        raise Conflict(f"the registration is {registration['status']}: only confirmed registrants check in")
    registration = office.session.fetchone(
        "UPDATE registrations SET status = 'attended', checked_in_at = %s WHERE id = %s RETURNING *",
        (office.now, registration["id"]),
    )
    _announce(office, activity, registration, "checked_in", checked_in_at=office.now)
    return present(registration, activity)


def list_registrations(office, cmd):
    caller = office.caller
    if cmd.get("activity_id"):
        activity = office.load(cmd["activity_id"], lock=False)
        if office.may_manage(activity):
            scope, params = "activity_id = %(activity)s", {"activity": activity["id"]}
        else:
            scope, params = (
                "activity_id = %(activity)s AND person_id = %(me)s",
                {"activity": activity["id"], "me": caller.subject},
            )
    elif caller.kind == "merchant":
        scope, params = (
            "(merchant_id = %(merchant)s OR person_id = %(me)s)",
            {"merchant": caller.merchant_id, "me": caller.subject},
        )
    else:
        scope, params = "person_id = %(me)s", {"me": caller.subject}
    # A waiter's place is counted now (the waiters ahead of it), not its number in the queue, which
    # keeps the order but not the count once those ahead are promoted or cancel.
    rows = office.session.fetchall(
        "SELECT r.*, a.title, a.type, a.organisers, a.venue, a.starts_at, a.ends_at,"
        " CASE WHEN r.status = 'waitlisted' THEN (SELECT count(*) FROM registrations w"
        "   WHERE w.activity_id = r.activity_id AND w.status = 'waitlisted' AND w.position <= r.position)"
        " END AS place FROM registrations r"
        f" JOIN activities a ON a.id = r.activity_id WHERE {scope.replace('activity_id', 'r.activity_id')}"
        " ORDER BY r.status = 'waitlisted', r.position, r.registered_at LIMIT 1000",
        params,
    )
    return [present(row, row, qr=row["person_id"] == caller.subject) for row in rows]


def attendance(office, activity_id):
    activity = office.load(activity_id, lock=False)
    office.require_manager(activity)
    counts = {
        row["status"]: row["n"]
        for row in office.session.fetchall(
            "SELECT status, count(*) AS n FROM registrations WHERE activity_id = %s GROUP BY status", (activity["id"],)
        )
    }
    confirmed = counts.get(domain.CONFIRMED, 0) + counts.get(domain.ATTENDED, 0) + counts.get(domain.NO_SHOW, 0)
    return {
        "activity_id": str(activity["id"]),
        "status": activity["status"],
        "confirmed": confirmed,
        "attended": counts.get(domain.ATTENDED, 0),
        "no_shows": counts.get(domain.NO_SHOW, 0),
        "waitlisted": counts.get(domain.WAITLISTED, 0),
        "cancelled": counts.get(domain.CANCELLED_REGISTRATION, 0),
        "attendance_rate": round(counts.get(domain.ATTENDED, 0) / confirmed, 3) if confirmed else None,
    }


def _load(office, registration_id):
    row = office.session.fetchone("SELECT * FROM registrations WHERE id = %s", (str(registration_id),))
    if row is None:
        raise NotFound(f"no registration {registration_id}")
    return row


def _announce(office, activity, registration, event_type, **extra):
    office.session.publish(
        event_type,
        {
            **summary_of(activity),
            "registration_id": str(registration["id"]),
            "person_id": registration["person_id"],
            "merchant_id": None if registration["merchant_id"] is None else str(registration["merchant_id"]),
            "district_id": registration["district_id"],
            "child_name": registration["child_name"],
            **extra,
        },
        aggregate_id=str(activity["id"]),
    )


def qr_svg(code):
    """The check-in code as a QR code, SVG, ready to print on a card or show on a phone."""
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return buffer.getvalue().decode()


def present(registration, activity, qr=True):
    """A registration as its registrant and organisers see it. A waiting registration's ``place``
    (and ``position``, the same) is where it stands now: 1 is the next to get a seat."""
    place = registration.get("place") if registration["status"] == domain.WAITLISTED else None
    out = {
        "registration_id": str(registration["id"]),
        "activity_id": str(registration["activity_id"]),
        "title": activity["title"],
        "starts_at": activity["starts_at"].isoformat(),
        "venue": activity["venue"],
        "person_id": registration["person_id"],
        "merchant_id": None if registration["merchant_id"] is None else str(registration["merchant_id"]),
        "district_id": registration["district_id"],
        "child_name": registration["child_name"],
        "child_age": registration["child_age"],
        "status": registration["status"],
        "position": place,
        "place": place,
        "registered_at": registration["registered_at"].isoformat(),
    }
    if qr and registration["status"] in (domain.CONFIRMED, domain.ATTENDED):
        out["check_in_code"] = registration["check_in_code"]
        out["check_in_qr_svg"] = qr_svg(registration["check_in_code"])
    return out
