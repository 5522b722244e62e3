"""Use cases on activities: create, change, publish (with calendar coordination), cancel, complete,
series, and reading. Each runs in the calling worker's one transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.types.json import Jsonb

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_platform.paging import decode_cursor, page

from . import domain

MANAGERS = frozenset({"admin", "staff", "branch_secretary", "system"})
_EDITABLE = (
    "title",
    "description",
    "venue",
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "capacity",
    "quotas",
    "partners",
    "theme_tags",
)


@dataclass
class Office:
    """What the events service's use cases need besides their command."""

    session: object
    caller: object
    now: datetime
    settings: object

    @property
    def actor(self):
        return f"{self.caller.kind}:{self.caller.subject}"

    def load(self, activity_id, lock=True):
        row = self.session.fetchone(
            "SELECT * FROM activities WHERE id = %s" + (" FOR UPDATE" if lock else ""), (str(activity_id),)
        )
        if row is None:
            raise NotFound(f"no activity {activity_id}")
        return row

    def may_manage(self, activity):
        caller = self.caller
        if not caller.has_any_role(MANAGERS) or caller.kind == "merchant":
            return False
        return any(caller.covers_district(organiser) for organiser in activity["organisers"]) or (
            activity["created_by"] == self.actor
        )

    def require_manager(self, activity):
        if not self.may_manage(activity):
            raise Forbidden(f"only the organisers of {activity['title']} or an administrator may do this")

    def publish(self, activity, event_type, **payload):
        self.session.publish(event_type, {**summary_of(activity), **payload}, aggregate_id=str(activity["id"]))


def summary_of(activity):
    return {
        "activity_id": str(activity["id"]),
        "title": activity["title"],
        "type": activity["type"],
        "organisers": list(activity["organisers"]),
        "venue": activity["venue"],
        "starts_at": activity["starts_at"],
        "ends_at": activity["ends_at"],
    }


def _check_times(data):
    errors = {}
    if data["ends_at"] <= data["starts_at"]:
        errors["ends_at"] = ["must be after starts_at"]
    if data["registration_closes_at"] <= data["registration_opens_at"]:
        errors["registration_closes_at"] = ["must be after registration_opens_at"]
    if data["registration_closes_at"] > data["ends_at"]:
        errors.setdefault("registration_closes_at", []).append("must not be after the activity ends")
    if sum((data.get("quotas") or {}).values()) > data["capacity"]:
        errors["quotas"] = ["district quotas add up to more than the capacity"]
    if errors:
        raise ValidationError("inconsistent activity", errors)


def create(office, cmd, series_id=None):
    if not office.caller.has_any_role(MANAGERS) or office.caller.kind == "merchant":
        raise Forbidden("only staff and administrators organise activities")
    if not any(office.caller.covers_district(o) for o in cmd["organisers"]):
        raise Forbidden(f"{office.actor} organises for none of {cmd['organisers']}")
    _check_times(cmd)
    evaluation = cmd.get("evaluation") or {}
    if (cmd["type"] == "evaluation") != bool(evaluation):
        raise ValidationError("evaluation settings", {"evaluation": ["required for, and only for, type evaluation"]})
    row = office.session.fetchone(
        "INSERT INTO activities (id, series_id, title, type, description, organisers, partners, venue, starts_at,"
        " ends_at, registration_opens_at, registration_closes_at, capacity, quotas, audience, theme_tags, status,"
        " created_by, created_at, evaluation_kind, evaluation_year, evaluation_winners, evaluation_stars,"
        " voter_roles, voting_opens_at, voting_closes_at)"
        " VALUES (%(id)s, %(series_id)s, %(title)s, %(type)s, %(description)s, %(organisers)s, %(partners)s,"
        " %(venue)s, %(starts_at)s, %(ends_at)s, %(registration_opens_at)s, %(registration_closes_at)s,"
        " %(capacity)s, %(quotas)s, %(audience)s, %(theme_tags)s, 'draft', %(created_by)s, %(now)s, %(kind)s,"
        " %(year)s, %(winners)s, %(stars)s, %(voter_roles)s, %(voting_opens_at)s, %(voting_closes_at)s)"
        " RETURNING *",
        {
            **cmd,
            "id": str(uuid.uuid4()),
            "series_id": series_id,
            "quotas": Jsonb(cmd.get("quotas") or {}),
            "audience": Jsonb(cmd["audience"]),
            "created_by": office.actor,
            "now": office.now,
            "kind": evaluation.get("kind"),
            "year": evaluation.get("year"),
            "winners": evaluation.get("winners"),
            "stars": evaluation.get("stars"),
            "voter_roles": evaluation.get("voter_roles"),
            "voting_opens_at": evaluation.get("voting_opens_at"),
            "voting_closes_at": evaluation.get("voting_closes_at"),
        },
    )
    return row


def update(office, activity_id, changes):
    activity = office.load(activity_id)
    office.require_manager(activity)
    if activity["status"] in (domain.COMPLETED, domain.CANCELLED):
        raise Conflict(f"{activity['title']} is {activity['status']}: it cannot change")
    merged = {**activity, **changes}
    _check_times(merged)
    confirmed = activity["confirmed_count"]
    if merged["capacity"] < confirmed:
        raise Conflict(f"capacity {merged['capacity']} is below the {confirmed} confirmed registrations")
    if activity["status"] != domain.DRAFT and activity["type"] == "themed_promotion":
        _refuse_clashes(office, merged, override=activity["clash_override"])
    values = {k: (Jsonb(v) if k == "quotas" else v) for k, v in changes.items()}
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    updated = office.session.fetchone(
        f"UPDATE activities SET {assignments} WHERE id = %(id)s RETURNING *", {**values, "id": activity["id"]}
    )
    # Only what really changed is news: a venue sent again unchanged tells nobody anything.
    changed = sorted(field for field, value in changes.items() if activity[field] != updated[field])
    if activity["status"] != domain.DRAFT and changed:
        registrants = office.session.fetchall(
            "SELECT DISTINCT person_id FROM registrations WHERE activity_id = %s"
            " AND status IN ('confirmed', 'waitlisted') ORDER BY person_id",
            (activity["id"],),
        )
        office.publish(
            updated, "activity_updated", changed=changed, registrant_ids=[r["person_id"] for r in registrants]
        )
    return updated


def _refuse_clashes(office, activity, override):
    others = office.session.fetchall(
        "SELECT * FROM activities WHERE type = 'themed_promotion' AND id <> %s AND starts_at < %s AND ends_at > %s",
        (activity["id"], activity["ends_at"], activity["starts_at"]),
    )
    found = domain.clashes(activity, others)
    if found and not override:
        names = "; ".join(f"{c['title']} ({', '.join(c['shared_tags'])})" for c in found)
        raise Conflict(f"clashes with another district's promotion: {names}; publish with override_reason to go ahead")
    return found


def publish(office, activity_id, override_reason=None):
    activity = office.load(activity_id)
    office.require_manager(activity)
    domain.next_state(activity["status"], "publish")
    clashes = _refuse_clashes(office, activity, override_reason)
    activity = office.session.fetchone(
        "UPDATE activities SET status = 'published', published_at = %s, clash_override = %s WHERE id = %s RETURNING *",
        (office.now, override_reason if clashes else None, activity["id"]),
    )
    office.publish(
        activity,
        "activity_published",
        audience=activity["audience"],
        theme_tags=list(activity["theme_tags"]),
        capacity=activity["capacity"],
        registration_closes_at=activity["registration_closes_at"],
        series_id=None if activity["series_id"] is None else str(activity["series_id"]),
    )
    return activity


def move(office, activity_id, action):
    """close_registration or start, by hand (the timer does both on time)."""
    activity = office.load(activity_id)
    office.require_manager(activity)
    target = domain.next_state(activity["status"], action)
    return office.session.fetchone(
        "UPDATE activities SET status = %s WHERE id = %s RETURNING *", (target, activity["id"])
    )


def cancel(office, activity_id, reason):
    activity = office.load(activity_id)
    office.require_manager(activity)
    domain.next_state(activity["status"], "cancel")
    registrants = office.session.fetchall(
        "UPDATE registrations SET status = 'cancelled', cancelled_at = %s"
        " WHERE activity_id = %s AND status IN ('confirmed', 'waitlisted') RETURNING person_id",
        (office.now, activity["id"]),
    )
    activity = office.session.fetchone(
        "UPDATE activities SET status = 'cancelled', cancel_reason = %s, confirmed_count = 0,"
        " confirmed_by_district = '{}', waiting_count = 0 WHERE id = %s RETURNING *",
        (reason, activity["id"]),
    )
    office.publish(
        activity,
        "activity_cancelled",
        reason=reason,
        registrant_ids=sorted({r["person_id"] for r in registrants}),
        cancelled_at=office.now,
    )
    return activity


def complete(office, activity_id):
    """Close the books: who came, who did not, and participation points for those who came."""
    activity = office.load(activity_id)
    office.require_manager(activity)
    domain.next_state(activity["status"], "complete")
    no_shows = office.session.fetchval(
        "WITH marked AS (UPDATE registrations SET status = 'no_show'"
        " WHERE activity_id = %s AND status = 'confirmed' RETURNING 1) SELECT count(*) FROM marked",
        (activity["id"],),
    )
    per_person = int(office.settings["points"].get(activity["type"], office.settings["points"]["default"]))
    attended = office.session.fetchval(
        "WITH awarded AS (INSERT INTO points (activity_id, person_id, merchant_id, points, awarded_at)"
        " SELECT activity_id, person_id, merchant_id, %s, %s FROM registrations"
        " WHERE activity_id = %s AND status = 'attended' ON CONFLICT DO NOTHING RETURNING 1)"
        " SELECT count(*) FROM awarded",
        (per_person, office.now, activity["id"]),
    )
    activity = office.session.fetchone(
        "UPDATE activities SET status = 'completed', completed_at = %s WHERE id = %s RETURNING *",
        (office.now, activity["id"]),
    )
    office.publish(
        activity,
        "activity_completed",
        attended=attended,
        no_shows=no_shows,
        points_awarded=attended * per_person,
        completed_at=office.now,
    )
    return {"activity": activity, "attended": attended, "no_shows": no_shows, "points_per_person": per_person}


def create_series(office, cmd):
    """A recurring activity: one activity per date of the rule, each with its own registrations."""
    timezone = office.settings["timezone"]
    # A rule with no date or too many is refused by series_dates before it makes any date.
    dates = domain.series_dates(cmd["starts_at"], cmd["ends_at"], set(cmd["weekdays"]), cmd["until"], timezone)
    series_id = str(uuid.uuid4())
    office.session.execute(
        "INSERT INTO series (id, title, rule, created_at) VALUES (%s, %s, %s, %s)",
        (
            series_id,
            cmd["title"],
            Jsonb({"weekdays": sorted(cmd["weekdays"]), "until": cmd["until"].isoformat()}),
            office.now,
        ),
    )
    opens_before = cmd["starts_at"] - cmd["registration_opens_at"]
    closes_before = cmd["starts_at"] - cmd["registration_closes_at"]
    created = []
    for starts_at, ends_at in dates:
        occurrence = {
            **cmd,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "registration_opens_at": starts_at - opens_before,
            "registration_closes_at": starts_at - closes_before,
        }
        created.append(create(office, occurrence, series_id=series_id))
    return series_id, created


def get(office, activity_id):
    activity = office.load(activity_id, lock=False)
    if activity["status"] == domain.DRAFT and not office.may_manage(activity):
        raise NotFound(f"no activity {activity_id}")
    return present(activity, {"confirmed": activity["confirmed_count"], "waitlisted": activity["waiting_count"]})


def present(activity, counts=None):
    out = {
        "activity_id": str(activity["id"]),
        "series_id": None if activity["series_id"] is None else str(activity["series_id"]),
        "title": activity["title"],
        "type": activity["type"],
        "description": activity["description"],
        "organisers": list(activity["organisers"]),
        "partners": list(activity["partners"]),
        "venue": activity["venue"],
        "starts_at": activity["starts_at"].isoformat(),
        "ends_at": activity["ends_at"].isoformat(),
        "registration_opens_at": activity["registration_opens_at"].isoformat(),
        "registration_closes_at": activity["registration_closes_at"].isoformat(),
        "capacity": activity["capacity"],
        "quotas": activity["quotas"],
        "audience": activity["audience"],
        "theme_tags": list(activity["theme_tags"]),
        "status": activity["status"],
        "cancel_reason": activity["cancel_reason"],
        "clash_override": activity["clash_override"],
    }
    if activity["evaluation_kind"]:
        out["evaluation"] = {
            "kind": activity["evaluation_kind"],
            "year": activity["evaluation_year"],
            "winners": activity["evaluation_winners"],
            "stars": activity["evaluation_stars"],
            "voter_roles": list(activity["voter_roles"] or []),
            "voting_opens_at": activity["voting_opens_at"].isoformat(),
            "voting_closes_at": activity["voting_closes_at"].isoformat(),
            "closed": activity["evaluation_closed_at"] is not None,
        }
    if counts is not None:
        out.update(confirmed=counts["confirmed"], waitlisted=counts["waitlisted"])
    return out


def list_activities(office, cmd):
    filters, params = [], {"limit": cmd["limit"] + 1}
    if not (office.caller.is_admin or office.caller.kind == "system"):
        filters.append("status <> 'draft'")
    if cmd.get("district_id"):
        filters.append("(%(district)s = ANY (organisers) OR audience -> 'districts' ? %(district)s)")
        params["district"] = cmd["district_id"]
    for column in ("type", "status"):
        if cmd.get(column):
            filters.append(f"{column} = %({column})s")
            params[column] = cmd[column]
    if cmd.get("starts_after"):
        filters.append("starts_at >= %(starts_after)s")
        params["starts_after"] = cmd["starts_after"]
    if cmd.get("starts_before"):
        filters.append("starts_at < %(starts_before)s")
        params["starts_before"] = cmd["starts_before"]
    if cmd.get("open_for_registration"):
        filters.append("status = 'published' AND registration_opens_at <= %(now)s AND registration_closes_at > %(now)s")
        params["now"] = office.now
    key = decode_cursor(cmd.get("cursor"), 2)
    if key is not None:
        filters.append("(starts_at, id) > (%(after_at)s::timestamptz, %(after_id)s::uuid)")
        params.update(after_at=key[0], after_id=key[1])
    rows = office.session.fetchall(
        f"SELECT * FROM activities WHERE {' AND '.join(filters) or 'TRUE'} ORDER BY starts_at, id LIMIT %(limit)s",
        params,
    )
    return page([present(r) for r in rows], cmd["limit"], key=lambda a: (a["starts_at"], a["activity_id"]))
