"""The events service's SQL, all of it: functions taking the session (the worker's transaction).

Registration decides under the activity's row lock (``activity(..., lock=True)``) against seat
counters kept on that row, so concurrent registrations are decided one at a time against the real
counts and the waiting list keeps the order of decision; the counters and the registration are
written in one statement, one round trip under the lock. The schedule claims the rows it moves
with ``FOR UPDATE SKIP LOCKED``, so two instances never move the same activity.

State names come from the domain modules: written into the SQL (as literals, which the partial
indexes of the migrations match), never typed here.
"""

import psycopg.errors
from psycopg.types.json import Jsonb

from .domain.activity import THEMED_PROMOTION
from .domain.lifecycle import DRAFT, PUBLISHED
from .domain.meetings import ABSENT, EXCUSED, INVITED
from .domain.meetings import ATTENDED as MEETING_ATTENDED
from .domain.meetings import CANCELLED as MEETING_CANCELLED
from .domain.meetings import HELD as MEETING_HELD
from .domain.meetings import PLANNED as MEETING_PLANNED
from .domain.registration import ATTENDED, CANCELLED, CONFIRMED, HELD, NO_SHOW, OFFERED, SEATED, WAITLISTED


def _literal(state):
    return f"'{state}'"


def _literals(states):
    return "(" + ", ".join(map(_literal, states)) + ")"


_HELD = _literals(HELD)

# --- activities ----------------------------------------------------------------------------------


def activity(session, activity_id, lock=True):
    """The activity's row (locked for the transaction unless ``lock`` is false), or None."""
    return session.fetchone(
        "SELECT * FROM activities WHERE id = %s" + (" FOR UPDATE" if lock else ""), (str(activity_id),)
    )


def insert_activity(session, fields, *, activity_id, series_id, created_by, now):
    evaluation = fields.get("evaluation") or {}
    return session.fetchone(
        "INSERT INTO activities (id, series_id, title, type, description, organisers, partners, venue, starts_at,"
        " ends_at, registration_opens_at, registration_closes_at, capacity, quotas, audience, theme_tags, status,"
        " created_by, created_at, evaluation_kind, evaluation_year, evaluation_winners, evaluation_stars,"
        " voter_roles, voting_opens_at, voting_closes_at)"
        " VALUES (%(id)s, %(series_id)s, %(title)s, %(type)s, %(description)s, %(organisers)s, %(partners)s,"
        " %(venue)s, %(starts_at)s, %(ends_at)s, %(registration_opens_at)s, %(registration_closes_at)s,"
        " %(capacity)s, %(quotas)s, %(audience)s, %(theme_tags)s, %(status)s, %(created_by)s, %(now)s, %(kind)s,"
        " %(year)s, %(winners)s, %(stars)s, %(voter_roles)s, %(voting_opens_at)s, %(voting_closes_at)s)"
        " RETURNING *",
        {
            **fields,
            "id": activity_id,
            "series_id": series_id,
            "quotas": Jsonb(fields.get("quotas") or {}),
            "audience": Jsonb(fields["audience"]),
            "status": DRAFT,
            "created_by": created_by,
            "now": now,
            "kind": evaluation.get("kind"),
            "year": evaluation.get("year"),
            "winners": evaluation.get("winners"),
            "stars": evaluation.get("stars"),
            "voter_roles": evaluation.get("voter_roles"),
            "voting_opens_at": evaluation.get("voting_opens_at"),
            "voting_closes_at": evaluation.get("voting_closes_at"),
        },
    )


def update_activity(session, activity_id, changes):
    """Set the given fields (names from the input schema of ``update_activity``, never free text)."""
    values = {k: (Jsonb(v) if k == "quotas" else v) for k, v in changes.items()}
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    return session.fetchone(
        f"UPDATE activities SET {assignments} WHERE id = %(id)s RETURNING *", {**values, "id": activity_id}
    )


def insert_series(session, series_id, title, rule, now):
    session.execute(
        "INSERT INTO series (id, title, rule, created_at) VALUES (%s, %s, %s, %s)",
        (series_id, title, Jsonb(rule), now),
    )


def promotions_overlapping(session, activity):
    """Other themed promotions overlapping ``activity`` in time (the calendar weighs them)."""
    return session.fetchall(
        f"SELECT * FROM activities WHERE type = {_literal(THEMED_PROMOTION)} AND id <> %s AND starts_at < %s"
        " AND ends_at > %s",
        (activity["id"], activity["ends_at"], activity["starts_at"]),
    )


def set_status(session, activity_id, status):
    return session.fetchone("UPDATE activities SET status = %s WHERE id = %s RETURNING *", (status, activity_id))


def mark_published(session, activity_id, status, now, clash_override):
    return session.fetchone(
        "UPDATE activities SET status = %s, published_at = %s, clash_override = %s WHERE id = %s RETURNING *",
        (status, now, clash_override, activity_id),
    )


def mark_cancelled(session, activity_id, status, reason):
    """The activity cancelled, its seat counters emptied (its registrations are cancelled with it)."""
    return session.fetchone(
        "UPDATE activities SET status = %s, cancel_reason = %s, confirmed_count = 0,"
        " confirmed_by_district = '{}', offered_count = 0, offered_by_district = '{}', waiting_count = 0"
        " WHERE id = %s RETURNING *",
        (status, reason, activity_id),
    )


def mark_completed(session, activity_id, status, now):
    return session.fetchone(
        "UPDATE activities SET status = %s, completed_at = %s WHERE id = %s RETURNING *",
        (status, now, activity_id),
    )


def mark_evaluation_closed(session, activity_id, status, now):
    session.execute(
        "UPDATE activities SET evaluation_closed_at = %s, status = %s, completed_at = %s WHERE id = %s",
        (now, status, now, activity_id),
    )


def record_reminder(session, activity_id, window):
    session.execute(
        "UPDATE activities SET reminders_sent = array_append(reminders_sent, %s) WHERE id = %s", (window, activity_id)
    )


def list_activities(session, *, limit, drafts, district, type, status, starts_after, starts_before, open_at, after):
    """A page of activities by start (``limit`` + 1 rows, for the paging), after the key ``after``."""
    where = _Where(limit)
    if not drafts:
        where.add(f"status <> {_literal(DRAFT)}")
    if district:
        where.add("(%(district)s = ANY (organisers) OR audience -> 'districts' ? %(district)s)", district=district)
    where.equal(type=type, status=status)
    where.starting_between(starts_after, starts_before)
    if open_at:
        where.add(
            f"status = {_literal(PUBLISHED)} AND registration_opens_at <= %(now)s AND registration_closes_at > %(now)s",
            now=open_at,
        )
    where.after_start(after, ">")
    return session.fetchall(
        f"SELECT * FROM activities WHERE {where} ORDER BY starts_at, id LIMIT %(limit)s",
        where.params,
    )


class _Where:
    """The WHERE clause of a list query, from the filters its caller gave (``str()``: the clause),
    and its parameters, ``limit`` + 1 rows for the paging among them."""

    def __init__(self, limit):
        self.clauses, self.params = [], {"limit": limit + 1}

    def add(self, clause, **params):
        self.clauses.append(clause)
        self.params.update(params)

    def equal(self, **columns):
        """``column = value`` for each column given a value."""
        for column, value in columns.items():
            if value:
                self.add(f"{column} = %({column})s", **{column: value})

    def starting_between(self, starts_after, starts_before):
        if starts_after:
            self.add("starts_at >= %(starts_after)s", starts_after=starts_after)
        if starts_before:
            self.add("starts_at < %(starts_before)s", starts_before=starts_before)

    def after_start(self, after, direction):
        """Past the cursor's ``(starts_at, id)`` key in the list's ``direction`` (``>`` or ``<``)."""
        if after is not None:
            self.add(
                f"(starts_at, id) {direction} (%(after_at)s::timestamptz, %(after_id)s::uuid)",
                after_at=after[0],
                after_id=after[1],
            )

    def __str__(self):
        return " AND ".join(self.clauses) or "TRUE"


# --- the schedule --------------------------------------------------------------------------------


def claim_due_to_close(session, now, states):
    """Activities in ``states`` whose registration deadline has passed before they start."""
    return session.fetchall(
        "SELECT * FROM activities WHERE status = ANY (%(states)s) AND registration_closes_at <= %(now)s"
        " AND starts_at > %(now)s FOR UPDATE SKIP LOCKED",
        {"now": now, "states": list(states)},
    )


def claim_due_to_start(session, now, states, except_type):
    """Activities in ``states`` whose start has come (but those of ``except_type``)."""
    return session.fetchall(
        "SELECT * FROM activities WHERE status = ANY (%(states)s) AND starts_at <= %(now)s"
        " AND type <> %(except_type)s FOR UPDATE SKIP LOCKED",
        {"now": now, "states": list(states), "except_type": except_type},
    )


def claim_due_for_reminders(session, now, states, within, last_window):
    """Activities in ``states`` starting ``within`` from now, not yet reminded of ``last_window``."""
    return session.fetchall(
        "SELECT * FROM activities WHERE status = ANY (%(states)s)"
        " AND starts_at > %(now)s AND starts_at <= %(now)s + %(within)s"
        " AND NOT reminders_sent @> ARRAY[%(last)s] FOR UPDATE SKIP LOCKED",
        {"now": now, "states": list(states), "within": within, "last": last_window},
    )


# --- registrations -------------------------------------------------------------------------------

# Moves an activity's seat counters; its row is locked by the caller.
_MOVE_COUNTERS = (
    "UPDATE activities SET confirmed_count = confirmed_count + %(confirmed)s,"
    " confirmed_by_district = jsonb_set(confirmed_by_district, ARRAY[%(district)s],"
    "   to_jsonb(coalesce((confirmed_by_district ->> %(district)s)::int, 0) + %(confirmed)s)),"
    " offered_count = offered_count + %(offered)s,"
    # Registration (the hot path) moves no offer: its row keeps the offers' map as it is.
    " offered_by_district = CASE WHEN %(offered)s = 0 THEN offered_by_district"
    "   ELSE jsonb_set(offered_by_district, ARRAY[%(district)s],"
    "   to_jsonb(coalesce((offered_by_district ->> %(district)s)::int, 0) + %(offered)s)) END,"
    " waiting_count = waiting_count + %(waiting)s,"
    " waitlist_last = waitlist_last + %(joined)s"
    " WHERE id = %(activity_id)s"
)


def move_counters(session, activity, district, confirmed=0, offered=0, waiting=0, joined_queue=False):
    """Move the activity's seat counters (its row is locked by the caller); the row after."""
    return session.fetchone(
        _MOVE_COUNTERS + " RETURNING *",
        {
            "activity_id": activity["id"],
            "district": district,
            "confirmed": confirmed,
            "offered": offered,
            "waiting": waiting,
            "joined": int(joined_queue),
        },
    )


def live_registration(session, activity_id, person_id, child_name):
    """The person's (or child's) registration for the activity that is not cancelled, or None."""
    return session.fetchone(
        "SELECT status FROM registrations WHERE activity_id = %s AND person_id = %s"
        f" AND coalesce(child_name, '') = %s AND status <> {_literal(CANCELLED)}",
        (str(activity_id), person_id, child_name or ""),
    )


def insert_registration(session, activity, registration, confirmed, now):
    """The registration, confirmed or at the end of the waiting list, with the activity's counters
    moved in the same statement. Its row has ``place``: the waiters now (its place if it waits).
    None if the person (or child) has a live registration already (the unique index said so)."""
    try:
        return session.fetchone(
            f"WITH counted AS ({_MOVE_COUNTERS} RETURNING waitlist_last, waiting_count)"
            " INSERT INTO registrations (id, activity_id, person_id, merchant_id, district_id, child_name, child_age,"
            "   status, position, check_in_code, registered_at, confirmed_at)"
            " SELECT %(id)s, %(activity_id)s, %(person_id)s, %(merchant_id)s, %(district)s, %(child_name)s,"
            "   %(child_age)s, %(status)s, CASE WHEN %(confirmed)s = 1 THEN NULL ELSE counted.waitlist_last END,"
            "   %(code)s, %(now)s, %(confirmed_at)s FROM counted"
            " RETURNING *, (SELECT waiting_count FROM counted) AS place",
            {
                **registration,
                "activity_id": activity["id"],
                "status": CONFIRMED if confirmed else WAITLISTED,
                "confirmed": int(confirmed),
                "offered": 0,
                "waiting": int(not confirmed),
                "joined": int(not confirmed),
                "now": now,
                "confirmed_at": now if confirmed else None,
            },
        )
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "registrations_once":
            raise
        return None


def registration(session, registration_id):
    return session.fetchone("SELECT * FROM registrations WHERE id = %s", (str(registration_id),))


def mark_registration_cancelled(session, registration_id, now):
    return session.fetchone(
        f"UPDATE registrations SET status = {_literal(CANCELLED)}, cancelled_at = %s WHERE id = %s RETURNING *",
        (now, registration_id),
    )


def cancel_registrations(session, activity_id, now):
    """Cancel every registration of the activity holding a seat or a place; the person ids."""
    return [
        row["person_id"]
        for row in session.fetchall(
            f"UPDATE registrations SET status = {_literal(CANCELLED)}, cancelled_at = %s"
            f" WHERE activity_id = %s AND status IN {_HELD} RETURNING person_id",
            (now, activity_id),
        )
    ]


def registrants(session, activity_id):
    """Everyone holding a seat or a place in the activity's waiting list, by id."""
    return [
        row["person_id"]
        for row in session.fetchall(
            f"SELECT DISTINCT person_id FROM registrations WHERE activity_id = %s AND status IN {_HELD}"
            " ORDER BY person_id",
            (activity_id,),
        )
    ]


def confirmed_people(session, activity_id):
    return [
        row["person_id"]
        for row in session.fetchall(
            "SELECT DISTINCT person_id FROM registrations WHERE activity_id = %s"
            f" AND status = {_literal(CONFIRMED)} ORDER BY person_id",
            (activity_id,),
        )
    ]


def waiting_list(session, activity_id):
    return session.fetchall(
        f"SELECT * FROM registrations WHERE activity_id = %s AND status = {_literal(WAITLISTED)} ORDER BY position",
        (activity_id,),
    )


def offer_seat(session, registration_id, now, expires_at):
    """The waiting registration offered a seat until ``expires_at``; it keeps its number in the
    queue, to wait again in its place if registration closes before it answers."""
    return session.fetchone(
        f"UPDATE registrations SET status = {_literal(OFFERED)}, offered_at = %s, offer_expires_at = %s,"
        " offer_outcome = NULL WHERE id = %s RETURNING *",
        (now, expires_at, registration_id),
    )


def accept_offer(session, registration_id, now, outcome):
    return session.fetchone(
        f"UPDATE registrations SET status = {_literal(CONFIRMED)}, position = NULL, confirmed_at = %s,"
        " offer_outcome = %s WHERE id = %s RETURNING *",
        (now, outcome, registration_id),
    )


def end_offer(session, registration_id, now, outcome, waits_again):
    """The offer ended unanswered or declined (``outcome``): the registration cancelled, or waiting
    again in its place if ``waits_again``."""
    if waits_again:
        return session.fetchone(
            f"UPDATE registrations SET status = {_literal(WAITLISTED)}, offer_outcome = %s WHERE id = %s RETURNING *",
            (outcome, registration_id),
        )
    return session.fetchone(
        f"UPDATE registrations SET status = {_literal(CANCELLED)}, cancelled_at = %s, offer_outcome = %s"
        " WHERE id = %s RETURNING *",
        (now, outcome, registration_id),
    )


def open_offers(session, activity_id, due_at=None):
    """The activity's open offers (those past ``due_at`` only, if given), in queue order."""
    due = "" if due_at is None else " AND offer_expires_at <= %(due)s"
    return session.fetchall(
        f"SELECT * FROM registrations WHERE activity_id = %(activity)s AND status = {_literal(OFFERED)}{due}"
        " ORDER BY position",
        {"activity": activity_id, "due": due_at},
    )


def claim_with_expired_offers(session, now):
    """Activities with an offer past its time, locked (those another instance holds are skipped)."""
    return session.fetchall(
        "SELECT * FROM activities WHERE id IN (SELECT activity_id FROM registrations"
        f" WHERE status = {_literal(OFFERED)} AND offer_expires_at <= %s) FOR UPDATE SKIP LOCKED",
        (now,),
    )


def registration_by_code(session, activity_id, code):
    """The activity's registration with that check-in code, locked, or None."""
    return session.fetchone(
        "SELECT * FROM registrations WHERE activity_id = %s AND check_in_code = %s FOR UPDATE", (activity_id, code)
    )


def mark_attended(session, registration_id, now):
    return session.fetchone(
        f"UPDATE registrations SET status = {_literal(ATTENDED)}, checked_in_at = %s WHERE id = %s RETURNING *",
        (now, registration_id),
    )


def mark_no_shows(session, activity_id):
    """Every registration still confirmed when the activity completes came not: each one's
    registration id and person, in the order of the registrations."""
    return session.fetchall(
        f"UPDATE registrations SET status = {_literal(NO_SHOW)}"
        f" WHERE activity_id = %s AND status = {_literal(CONFIRMED)}"
        " RETURNING id::text AS registration_id, person_id, merchant_id::text AS merchant_id, district_id",
        (activity_id,),
    )


def count_attended(session, activity_id):
    return session.fetchval(
        f"SELECT count(*) FROM registrations WHERE activity_id = %s AND status = {_literal(ATTENDED)}", (activity_id,)
    )


def list_registrations(session, *, activity_id=None, person_id=None, merchant_id=None, shop_id=None):
    """Registrations with their activity's title, type, organisers, venue and times: of one
    activity, and/or of one person (or of a merchant's shop, when ``merchant_id`` is given too).
    Confirmed and others first, then those offered a seat, then the waiting list in order; a
    waiter's ``place`` is counted now (the waiters ahead of it), not its number in the queue, which
    keeps the order but not the count once those ahead get seats or cancel. ``shop_id``: a
    merchant's registrations only."""
    scope, params = [], {}
    if shop_id is not None:
        scope.append("r.merchant_id = %(shop)s")
        params["shop"] = shop_id
    if activity_id is not None:
        scope.append("r.activity_id = %(activity)s")
        params["activity"] = activity_id
    if merchant_id is not None:
        scope.append("(r.merchant_id = %(merchant)s OR r.person_id = %(me)s)")
        params.update(merchant=merchant_id, me=person_id)
    elif person_id is not None:
        scope.append("r.person_id = %(me)s")
        params["me"] = person_id
    return session.fetchall(
        "SELECT r.*, a.title, a.type, a.organisers, a.created_by, a.venue, a.starts_at, a.ends_at,"
        f" CASE WHEN r.status = {_literal(WAITLISTED)} THEN (SELECT count(*) FROM registrations w"
        f"   WHERE w.activity_id = r.activity_id AND w.status = {_literal(WAITLISTED)} AND w.position <= r.position)"
        " END AS place FROM registrations r"
        f" JOIN activities a ON a.id = r.activity_id WHERE {' AND '.join(scope)}"
        f" ORDER BY r.status = {_literal(WAITLISTED)}, r.status = {_literal(OFFERED)}, r.position, r.registered_at"
        " LIMIT 1000",
        params,
    )


def count_by_status(session, activity_id):
    """status -> how many of the activity's registrations are in it."""
    rows = session.fetchall(
        "SELECT status, count(*) AS n FROM registrations WHERE activity_id = %s GROUP BY status", (activity_id,)
    )
    return {row["status"]: row["n"] for row in rows}


# --- evaluations ---------------------------------------------------------------------------------


def insert_nomination(session, activity_id, merchant_id, nominated_by, reason, now):
    """True if nominated now, False if the merchant was nominated already."""
    return (
        session.fetchone(
            "INSERT INTO nominations (activity_id, merchant_id, nominated_by, reason, nominated_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING merchant_id",
            (activity_id, merchant_id, nominated_by, reason, now),
        )
        is not None
    )


def is_nominated(session, activity_id, merchant_id):
    return (
        session.fetchone(
            "SELECT 1 FROM nominations WHERE activity_id = %s AND merchant_id = %s", (activity_id, merchant_id)
        )
        is not None
    )


def insert_vote(session, activity_id, merchant_id, voter_id, now):
    """True if the vote was cast now, False if this voter voted for this nominee already."""
    return (
        session.fetchone(
            "INSERT INTO votes (activity_id, merchant_id, voter_id, voted_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING voter_id",
            (activity_id, merchant_id, voter_id, now),
        )
        is not None
    )


def tally(session, activity_id):
    """Each nominee: merchant_id, nominated_at and votes."""
    return session.fetchall(
        "SELECT n.merchant_id::text, n.nominated_at, count(v.voter_id) AS votes FROM nominations n"
        " LEFT JOIN votes v USING (activity_id, merchant_id) WHERE n.activity_id = %s"
        " GROUP BY n.merchant_id, n.nominated_at",
        (activity_id,),
    )


# --- the figures of a period ---------------------------------------------------------------------

_IN_PERIOD = f"a.starts_at >= %(since)s AND a.starts_at < %(until)s AND a.status <> {_literal(DRAFT)}"


def period_figures(session, since, until):
    """Activities by type and by organising district, registrations by outcome, the top ten
    participants and merchants by activities attended, for activities starting in [since, until)
    (drafts aside)."""
    params = {"since": since, "until": until}
    by_type = session.fetchall(
        f"SELECT type AS key, count(*) AS activities FROM activities a WHERE {_IN_PERIOD} GROUP BY 1 ORDER BY 1",
        params,
    )
    by_district = session.fetchall(
        f"SELECT unnest(organisers) AS key, count(*) AS activities FROM activities a WHERE {_IN_PERIOD}"
        " GROUP BY 1 ORDER BY 1",
        params,
    )
    registrations = session.fetchone(
        "SELECT count(*) AS registrations,"
        f" count(*) FILTER (WHERE r.status IN {_literals(SEATED)}) AS confirmed,"
        f" count(*) FILTER (WHERE r.status = {_literal(ATTENDED)}) AS attended,"
        f" count(*) FILTER (WHERE r.status = {_literal(NO_SHOW)}) AS no_shows,"
        f" count(*) FILTER (WHERE r.status IN {_literals((OFFERED, WAITLISTED))}) AS waitlisted"
        f" FROM registrations r JOIN activities a ON a.id = r.activity_id WHERE {_IN_PERIOD}",
        params,
    )
    # Those who came most often, people and shops (points are the registry's ledger's: none here).
    top = session.fetchall(
        f"SELECT r.person_id, 0 AS points, count(*) AS activities FROM registrations r"
        f" JOIN activities a ON a.id = r.activity_id WHERE {_IN_PERIOD} AND r.status = {_literal(ATTENDED)}"
        " GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 10",
        params,
    )
    merchants = session.fetchall(
        "SELECT r.merchant_id::text, 0 AS points FROM registrations r"
        f" JOIN activities a ON a.id = r.activity_id WHERE {_IN_PERIOD} AND r.status = {_literal(ATTENDED)}"
        " AND r.merchant_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 10",
        params,
    )
    return {
        "by_type": {r["key"]: r["activities"] for r in by_type},
        "by_district": {r["key"]: r["activities"] for r in by_district},
        "registrations": registrations,
        "top_participants": top,
        "top_merchants": merchants,
    }


# --- branch life (三会一课) ------------------------------------------------------------------------


def insert_meeting(session, fields, *, meeting_id, branch, planned_by, now):
    return session.fetchone(
        "INSERT INTO meetings (id, branch_id, district_id, kind, title, place, starts_at, ends_at, agenda, status,"
        " planned_by, planned_at) VALUES (%(id)s, %(branch_id)s, %(district_id)s, %(kind)s, %(title)s, %(place)s,"
        " %(starts_at)s, %(ends_at)s, %(agenda)s, %(status)s, %(planned_by)s, %(now)s) RETURNING *",
        {
            **fields,
            "id": meeting_id,
            "branch_id": branch["id"],
            "district_id": branch["district_id"],
            "status": MEETING_PLANNED,
            "planned_by": planned_by,
            "now": now,
        },
    )


def invite(session, meeting_id, invitees):
    """The invitees (``[(person_id, check_in_code)]``) of a new meeting, in one statement."""
    session.execute(
        "INSERT INTO meeting_attendees (meeting_id, person_id, status, check_in_code)"
        " SELECT %s, person_id, %s, code FROM unnest(%s::text[], %s::text[]) AS i(person_id, code)",
        (meeting_id, INVITED, [p for p, _ in invitees], [c for _, c in invitees]),
    )


def meeting(session, meeting_id, lock=False):
    return session.fetchone(
        "SELECT * FROM meetings WHERE id = %s" + (" FOR UPDATE" if lock else ""), (str(meeting_id),)
    )


def attendees(session, meeting_id):
    return session.fetchall(
        "SELECT * FROM meeting_attendees WHERE meeting_id = %s ORDER BY person_id", (str(meeting_id),)
    )


def attendee(session, meeting_id, person_id):
    return session.fetchone(
        "SELECT * FROM meeting_attendees WHERE meeting_id = %s AND person_id = %s FOR UPDATE",
        (str(meeting_id), person_id),
    )


def attendee_by_code(session, meeting_id, code):
    return session.fetchone(
        "SELECT * FROM meeting_attendees WHERE meeting_id = %s AND check_in_code = %s FOR UPDATE",
        (str(meeting_id), code),
    )


def mark_meeting_attended(session, meeting_id, person_id, now):
    return session.fetchone(
        # One excused who comes after all is there: the leave asked is no longer the reason of anything.
        "UPDATE meeting_attendees SET status = %s, checked_in_at = %s, reason = NULL"
        " WHERE meeting_id = %s AND person_id = %s RETURNING *",
        (MEETING_ATTENDED, now, str(meeting_id), person_id),
    )


def mark_excused(session, meeting_id, person_id, reason):
    return session.fetchone(
        "UPDATE meeting_attendees SET status = %s, reason = %s WHERE meeting_id = %s AND person_id = %s RETURNING *",
        (EXCUSED, reason, str(meeting_id), person_id),
    )


def mark_held(session, meeting_id, now):
    """The meeting held, and whoever was still only invited absent; the meeting's row."""
    session.execute(
        "UPDATE meeting_attendees SET status = %s WHERE meeting_id = %s AND status = %s",
        (ABSENT, str(meeting_id), INVITED),
    )
    return session.fetchone(
        "UPDATE meetings SET status = %s, held_at = %s WHERE id = %s RETURNING *", (MEETING_HELD, now, str(meeting_id))
    )


def record_minutes(session, meeting_id, minutes, decisions, recorded_by, now):
    """The minutes, once: None if the meeting had them already."""
    return session.fetchone(
        "UPDATE meetings SET minutes = %s, decisions = %s, minutes_recorded_by = %s, minutes_recorded_at = %s"
        " WHERE id = %s AND minutes IS NULL RETURNING *",
        (minutes, decisions, recorded_by, now, str(meeting_id)),
    )


def mark_meeting_cancelled(session, meeting_id, reason, now):
    return session.fetchone(
        "UPDATE meetings SET status = %s, cancel_reason = %s, cancelled_at = %s WHERE id = %s RETURNING *",
        (MEETING_CANCELLED, reason, now, str(meeting_id)),
    )


def list_meetings(session, *, limit, branches, kind, status, starts_after, starts_before, after):
    """A page of meetings, latest first (``limit`` + 1 rows), of the ``branches`` (None: all)."""
    where = _Where(limit)
    if branches is not None:
        where.add("branch_id = ANY(%(branches)s)", branches=list(branches))
    where.equal(kind=kind, status=status)
    where.starting_between(starts_after, starts_before)
    where.after_start(after, "<")
    return session.fetchall(
        f"SELECT * FROM meetings WHERE {where} ORDER BY starts_at DESC, id DESC LIMIT %(limit)s",
        where.params,
    )


def last_held(session, branch_ids, timezone):
    """(branch, kind) -> the local day of the branch's last meeting of that kind held."""
    rows = session.fetchall(
        f"SELECT branch_id, kind, (max(starts_at) AT TIME ZONE %s)::date AS day FROM meetings"
        f" WHERE status = {_literal(MEETING_HELD)} AND branch_id = ANY(%s) GROUP BY branch_id, kind",
        (str(timezone), list(branch_ids)),
    )
    return {(row["branch_id"], row["kind"]): row["day"] for row in rows}


def record_overdue_notice(session, branch_id, kind, missed_period, now):
    """True if the branch's secretary is told of this missed period now, False if told already."""
    row = session.fetchone(
        "INSERT INTO meeting_overdue_notices (branch_id, kind, missed_period, noticed_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING branch_id",
        (branch_id, kind, missed_period, now),
    )
    return row is not None


def attendees_of(session, meeting_ids):
    """meeting id -> its invitees, for a page of meetings in one query."""
    rows = session.fetchall(
        "SELECT * FROM meeting_attendees WHERE meeting_id = ANY(%s::uuid[]) ORDER BY meeting_id, person_id",
        ([str(i) for i in meeting_ids],),
    )
    found = {str(i): [] for i in meeting_ids}
    for row in rows:
        found[str(row["meeting_id"])].append(row)
    return found


# --- offline check-in ------------------------------------------------------------------------------


def roster_key(session, kind, target_id, fresh_key, now):
    """The key the roster of an activity or a meeting hashes its codes with: ``fresh_key`` the first time."""
    session.execute(
        "INSERT INTO check_in_rosters (target_kind, target_id, hash_key, created_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (kind, str(target_id), fresh_key, now),
    )
    return session.fetchval(
        "SELECT hash_key FROM check_in_rosters WHERE target_kind = %s AND target_id = %s", (kind, str(target_id))
    )


def roster_holders(session, kind, target_id):
    """Everyone a roster names, with the code and status: an activity's registrations (but the
    waiting list's: no seat, no door) or a meeting's invitees."""
    if kind == "activity":
        return session.fetchall(
            "SELECT id::text AS holder, person_id, child_name, check_in_code AS code, status, checked_in_at"
            f" FROM registrations WHERE activity_id = %s AND status NOT IN {_literals((OFFERED, WAITLISTED))}"
            " ORDER BY id",
            (str(target_id),),
        )
    return session.fetchall(
        "SELECT person_id AS holder, person_id, NULL AS child_name, check_in_code AS code, status, checked_in_at"
        " FROM meeting_attendees WHERE meeting_id = %s ORDER BY person_id",
        (str(target_id),),
    )


def record_download(session, kind, target_id, device_id, version, by, now):
    session.execute(
        "INSERT INTO check_in_downloads (target_kind, target_id, device_id, version, downloaded_by,"
        " first_downloaded, last_downloaded) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (target_kind, target_id, device_id)"
        " DO UPDATE SET version = EXCLUDED.version, downloaded_by = EXCLUDED.downloaded_by,"
        " last_downloaded = EXCLUDED.last_downloaded",
        (kind, str(target_id), device_id, version, by, now, now),
    )


def first_download(session, kind, target_id, device_id):
    """When the device first downloaded the roster; None if it never did."""
    return session.fetchval(
        "SELECT first_downloaded FROM check_in_downloads WHERE target_kind = %s AND target_id = %s AND device_id = %s",
        (kind, str(target_id), device_id),
    )


def scans_by_nonce(session, nonces):
    if not nonces:
        return {}
    rows = session.fetchall(
        "SELECT nonce::text AS nonce, target_kind, target_id::text AS target_id, holder, person_id, outcome, reason"
        " FROM check_in_scans WHERE nonce = ANY(%s::uuid[])",
        ([str(n) for n in nonces],),
    )
    return {r["nonce"]: r for r in rows}


def checking_scan(session, kind, target_id, holder):
    """The scan that checked ``holder`` in (its door and time), or None."""
    return session.fetchone(
        "SELECT door, device_id, scanned_at FROM check_in_scans"
        " WHERE target_kind = %s AND target_id = %s AND holder = %s AND outcome = 'checked_in'",
        (kind, str(target_id), holder),
    )


def insert_scan(session, kind, target_id, scan, holder, person_id, outcome, reason, now):
    """Keep a scan with what it came to; False if its nonce was kept already (nothing changes)."""
    return (
        session.fetchval(
            "INSERT INTO check_in_scans (nonce, target_kind, target_id, device_id, door, holder, person_id,"
            " scanned_at, uploaded_at, outcome, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (nonce) DO NOTHING RETURNING 1",
            (
                str(scan["nonce"]),
                kind,
                str(target_id),
                scan["device_id"],
                scan["door"],
                holder,
                person_id,
                scan["scanned_at"],
                now,
                outcome,
                reason,
            ),
        )
        is not None
    )


def scan_report(session, kind, target_id, *, outcomes, only, limit, after):
    """A page (``limit`` + 1 rows) of a roster's scans of ``outcomes`` (each row's ``rank``: its
    outcome's place there), of the outcome ``only`` if given, by rank, time scanned and nonce,
    after the key ``after``."""
    where = _Where(limit)
    where.add("target_kind = %(kind)s AND target_id = %(target_id)s", kind=kind, target_id=str(target_id))
    where.add("outcome = ANY(%(outcomes)s)", outcomes=list(outcomes))
    where.equal(outcome=only)
    if after is not None:
        where.add(
            "(array_position(%(outcomes)s, outcome), scanned_at, nonce)"
            " > (%(after_rank)s, %(after_at)s::timestamptz, %(after_nonce)s::uuid)",
            after_rank=after[0],
            after_at=after[1],
            after_nonce=after[2],
        )
    return session.fetchall(
        "SELECT array_position(%(outcomes)s, outcome) AS rank, nonce::text AS nonce, device_id, door, holder,"
        " person_id, scanned_at, uploaded_at, outcome, reason"
        f" FROM check_in_scans WHERE {where} ORDER BY rank, scanned_at, nonce LIMIT %(limit)s",
        where.params,
    )


def scan_counts(session, kind, target_id):
    rows = session.fetchall(
        "SELECT outcome, count(*) AS n FROM check_in_scans WHERE target_kind = %s AND target_id = %s GROUP BY 1",
        (kind, str(target_id)),
    )
    return {r["outcome"]: r["n"] for r in rows}
