"""The events service's read side: an activity, lists of activities and registrations, attendance
and the figures of a period. Each reads, for the verified caller ``ctx.caller``, what that caller
may see: a draft only its organisers (or administrators and systems), a registration only its
registrant and the activity's organisers, a check-in code only its registrant."""

from alliance_contracts.events import MEETING_KINDS
from alliance_platform.errors import Forbidden, NotFound
from alliance_platform.paging import decode_cursor, page

from . import storage
from .domain import activity as activities
from .domain import check_in, lifecycle, meetings, organisers, registration
from .use_cases import known_branch, load_activity, load_meeting


def get_activity(ctx, cmd):
    """The activity with its seats taken and its waiting list's length; a draft is its organisers' own."""
    activity = load_activity(ctx, cmd["activity_id"], lock=False)
    if activity["status"] == lifecycle.DRAFT and not organisers.may_manage(ctx.caller, activity):
        raise NotFound(f"no activity {cmd['activity_id']}")
    return activity


def list_activities(ctx, cmd):
    """Activities by start, a page at a time; drafts only for administrators and systems."""
    rows = storage.list_activities(
        ctx.session,
        limit=cmd["limit"],
        drafts=ctx.caller.is_admin or ctx.caller.kind == "system",
        district=cmd.get("district_id"),
        type=cmd.get("type"),
        status=cmd.get("status"),
        starts_after=cmd.get("starts_after"),
        starts_before=cmd.get("starts_before"),
        open_at=ctx.now if cmd.get("open_for_registration") else None,
        after=decode_cursor(cmd.get("cursor"), 2),
    )
    return page(rows, cmd["limit"], key=lambda a: (a["starts_at"].isoformat(), str(a["id"])))


def list_registrations(ctx, cmd):
    """An activity's registrations (all of them for its organisers, one's own for anyone else), or
    without an activity one's own — and a merchant's representative's, those of its shop too; with
    ``merchant_id``, a shop's: for staff those of the activities they organise (a merchant's page)."""
    caller = ctx.caller
    shop = str(cmd["merchant_id"]) if cmd.get("merchant_id") else None
    if cmd.get("activity_id"):
        activity = load_activity(ctx, cmd["activity_id"], lock=False)
        mine = None if organisers.may_manage(caller, activity) else caller.subject
        rows = storage.list_registrations(ctx.session, activity_id=activity["id"], person_id=mine, shop_id=shop)
    elif shop is not None and caller.kind != "merchant":
        every = storage.list_registrations(ctx.session, shop_id=shop)
        rows = [row for row in every if organisers.may_manage(caller, row)]
    elif caller.kind == "merchant":
        if shop is not None and shop != caller.merchant_id:
            raise Forbidden("a merchant may see only its own registrations")
        rows = storage.list_registrations(ctx.session, person_id=caller.subject, merchant_id=caller.merchant_id)
    else:
        rows = storage.list_registrations(ctx.session, person_id=caller.subject)
    return [registration.shown(row, row, ticket=row["person_id"] == caller.subject) for row in rows]


def attendance(ctx, cmd):
    """How many were confirmed, came, did not come, wait or cancelled, for its organisers."""
    activity = load_activity(ctx, cmd["activity_id"], lock=False)
    organisers.require_manager(ctx.caller, activity)
    counts = storage.count_by_status(ctx.session, activity["id"])
    confirmed = sum(counts.get(status, 0) for status in registration.SEATED)
    attended = counts.get(registration.ATTENDED, 0)
    return {
        "activity_id": str(activity["id"]),
        "status": activity["status"],
        "confirmed": confirmed,
        "attended": attended,
        "no_shows": counts.get(registration.NO_SHOW, 0),
        # Offered a seat, not yet confirmed: still waiting.
        "waitlisted": counts.get(registration.WAITLISTED, 0) + counts.get(registration.OFFERED, 0),
        "cancelled": counts.get(registration.CANCELLED, 0),
        "attendance_rate": check_in.rate(attended, confirmed),
    }


def stats(ctx, cmd):
    """The figures of a period: activities by type and district, registrations, attendance, and
    who came most often. ``points_awarded`` and the tops' ``points`` are deprecated (0): points are
    the registry's ledger's (``points_balance``, ``points_ranking``)."""
    figures = storage.period_figures(ctx.session, cmd["since"], cmd["until"])
    counted = figures["registrations"]
    return {
        "since": cmd["since"],
        "until": cmd["until"],
        "activities_by_type": figures["by_type"],
        "activities_by_district": figures["by_district"],
        **counted,
        "attendance_rate": check_in.rate(counted["attended"], counted["attended"] + counted["no_shows"]),
        "points_awarded": activities.DEPRECATED_POINTS,
        "top_participants": figures["top_participants"],
        "top_merchants": figures["top_merchants"],
    }


# --- branch life (三会一课) ------------------------------------------------------------------------


def get_meeting(ctx, cmd):
    """A meeting, for those who manage it (with its invitees) or are invited (with their own code)."""
    found = load_meeting(ctx, cmd["meeting_id"])
    attendees = storage.attendees(ctx.session, found["id"])
    full = meetings.may_manage(ctx.caller, found["district_id"])
    if not full and all(a["person_id"] != ctx.caller.subject for a in attendees):
        raise Forbidden(f"only the invitees of {found['title']} and those who keep it see it")
    return meetings.shown(found, attendees, ctx.caller, full=full)


def list_meetings(ctx, cmd, *, branches):
    """Meetings, latest first, a page at a time: of a branch of the register, retired ones included
    (an unknown one is a mistake, not an empty list), else of every branch the caller keeps meetings
    of."""
    if cmd.get("branch_id"):
        branch = known_branch(branches, cmd["branch_id"], retired_too=True)  # its meetings are kept
        meetings.require_secretary(ctx.caller, branch)
        kept = [branch["id"]]
    elif ctx.caller.is_admin or ctx.caller.kind == "system":
        kept = None
    else:
        kept = [b["id"] for b in branches.all() if meetings.may_manage(ctx.caller, b["district_id"])]
    rows = storage.list_meetings(
        ctx.session,
        limit=cmd["limit"],
        branches=kept,
        kind=cmd.get("kind"),
        status=cmd.get("status"),
        starts_after=cmd.get("starts_after"),
        starts_before=cmd.get("starts_before"),
        after=decode_cursor(cmd.get("cursor"), 2),
    )
    found = page(rows, cmd["limit"], key=lambda m: (m["starts_at"].isoformat(), str(m["id"])))
    invitees = storage.attendees_of(ctx.session, [m["id"] for m in found["items"]])
    found["items"] = [meetings.shown(m, invitees[str(m["id"])], ctx.caller, full=False) for m in found["items"]]
    return found


def branch_compliance(ctx, cmd, *, branches):
    """Each branch the caller keeps meetings of (or the one named) against the rhythm on today's
    local date: for each kind, the last meeting held, the day the next is due by and whether that
    has passed; overdue branches flagged."""
    today = ctx.now.astimezone(ctx.settings.timezone).date()
    if cmd.get("branch_id"):
        branch = known_branch(branches, cmd["branch_id"])
        meetings.require_secretary(ctx.caller, branch)
        kept = [branch]
    else:
        kept = [b for b in branches.all() if meetings.may_manage(ctx.caller, b["district_id"])]
    held = storage.last_held(ctx.session, [b["id"] for b in kept], ctx.settings.timezone)
    shown = []
    for branch in kept:
        kinds = [
            {"kind": kind, "rhythm": rhythm, **meetings.standing_shown(standing)}
            for kind, rhythm, standing in standings(ctx, branch, held, today)
        ]
        shown.append(
            {
                "branch_id": branch["id"],
                "branch_name": branch["name"],
                "district_id": branch["district_id"],
                "overdue": any(k["overdue"] for k in kinds),
                "kinds": kinds,
            }
        )
    return {
        "as_of": today,
        "rhythm": ctx.settings.meeting_rhythm,
        "branches": shown,
        "overdue_branches": [b["branch_id"] for b in shown if b["overdue"]],
    }


def standings(ctx, branch, held, today):
    """(kind, rhythm, ``meetings.Standing``) of each kind, in the contract's order of kinds."""
    settings = ctx.settings
    for kind in MEETING_KINDS:
        rhythm = settings.meeting_rhythm[kind]
        last = held.get((branch["id"], kind))
        yield kind, rhythm, meetings.standing(rhythm, last, today, settings.rhythm_since)
