"""The tickets service's SQL, all of it: functions taking the use case's session.

Tables: ``tickets`` (one row per demand or joint task), ``timeline`` (what happened to each, with
actor and time), ``reference_counters`` (DM-<year>-<number>, never reused), and the read model of
the registry's facts that routing and reading a ticket use without an RPC: ``merchant_directory``,
``people_directory``, ``pairing_directory``, ``organisation_directory`` (0005, its seeded rows 0006); the follow-up
practice's ``follow_up_calls``, ``supervisions`` and ``custody_items`` (0004). State names come
from ``domain.lifecycle``; the partial indexes of the migrations name the same states (a use-case
test compares them).
"""

import uuid

from psycopg.types.json import Jsonb

from alliance_platform.errors import NotFound

from .domain import lifecycle as lc


def _states(states):
    """A SQL list of state names, written into the statement: the planner matches it against the
    partial indexes' predicates, which a bound parameter would not."""
    return "(" + ", ".join(f"'{state}'" for state in sorted(states)) + ")"


_OPEN = _states(lc.OPEN)
_SLA_RUNNING = _states(lc.SLA_RUNNING)

# --- tickets and their timeline --------------------------------------------------------------


def ticket(session, ticket_id, lock=True):
    """The ticket's row (locked until commit unless ``lock`` is false); ``NotFound`` if none."""
    row = session.fetchone("SELECT * FROM tickets WHERE id = %s" + (" FOR UPDATE" if lock else ""), (str(ticket_id),))
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    return row


def ticket_by_reference(session, reference):
    row = session.fetchone("SELECT * FROM tickets WHERE reference = %s", (reference,))
    if row is None:
        raise NotFound(f"no ticket {reference}")
    return row


def insert_ticket(session, values):
    """A new ticket with the year's next reference number, in one statement (one round trip): the
    counter row stays locked until commit, so a use case takes it last, after its slower work."""
    return session.fetchone(
        "WITH counter AS (INSERT INTO reference_counters (year, last) VALUES (%(year)s, 1)"
        "   ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1 RETURNING last)"
        " INSERT INTO tickets (id, reference, parent_id, merchant_id, district_id, requester_id, category,"
        " handling_mode, title, description, attachments, status, style, team, proposed_id, unit, checklist,"
        " submitted_at, first_response_due_at, resolution_due_at, partner_id, partner)"
        " SELECT %(id)s,"
        "   format('DM-%%s-%%s', %(year)s, lpad(counter.last::text, greatest(6, length(counter.last::text)), '0')),"
        " %(parent_id)s, %(merchant_id)s, %(district_id)s, %(requester_id)s,"
        " %(category)s, %(handling_mode)s, %(title)s, %(description)s, %(attachments)s, %(status)s, %(style)s,"
        " %(team)s, %(proposed_id)s, %(unit)s, %(checklist)s, %(submitted_at)s, %(first_due)s, %(resolution_due)s,"
        " %(partner_id)s, %(partner)s FROM counter RETURNING *",
        {
            "partner_id": None,
            "partner": None,
            **values,
            "id": str(uuid.uuid4()),
            "attachments": Jsonb(values["attachments"]),
            "checklist": Jsonb(values["checklist"]),
        },
    )


_JSON_COLUMNS = frozenset({"attachments", "checklist"})


def update_ticket(session, ticket, **changes):
    """Set ``changes`` (column -> value) on ``ticket``; the new row."""
    values = {column: Jsonb(v) if column in _JSON_COLUMNS else v for column, v in changes.items()}
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    return session.fetchone(
        f"UPDATE tickets SET {assignments} WHERE id = %(id)s RETURNING *", {**values, "id": ticket["id"]}
    )


def add_timeline(
    session, ticket_id, at, actor, kind, *, visible, from_status=None, to_status=None, text=None, data=None
):
    """A line on a ticket's timeline, sent with the session's next round trip."""
    session.defer(
        "INSERT INTO timeline (ticket_id, at, actor, kind, visible_to_merchant, from_status, to_status, text, data)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (ticket_id, at, actor, kind, visible, from_status, to_status, text, Jsonb(data or {})),
    )


def timeline(session, ticket_id, merchant_only):
    return session.fetchall(
        "SELECT at, actor, kind, from_status, to_status, text, visible_to_merchant, data FROM timeline"
        " WHERE ticket_id = %s" + (" AND visible_to_merchant" if merchant_only else "") + " ORDER BY id",
        (ticket_id,),
    )


def pause_reason(session, ticket_id):
    """The question the ticket waits on: the text of its last pause."""
    return session.fetchval(
        "SELECT text FROM timeline WHERE ticket_id = %s AND kind = 'sla_paused' ORDER BY id DESC LIMIT 1",
        (ticket_id,),
    )


def children(session, parent_id):
    return session.fetchall(
        "SELECT id, reference, unit, status FROM tickets WHERE parent_id = %s ORDER BY submitted_at", (parent_id,)
    )


def open_children(session, parent_id):
    return session.fetchval(f"SELECT count(*) FROM tickets WHERE parent_id = %s AND status IN {_OPEN}", (parent_id,))


# --- lists and figures -----------------------------------------------------------------------

LIST_COLUMNS = (
    "id, reference, merchant_id, district_id, category, handling_mode, title, status, style, team,"
    " proposed_id, responsible_id, parent_id, submitted_at, first_response_due_at, resolution_due_at,"
    " sla_paused_at, resolved_at, closed_at, rating, escalation_level"
)


def list_tickets(session, scope, filters, limit, after=None, overdue_at=None, submitted=(None, None)):
    """Up to ``limit`` tickets in ``scope`` (``domain.access.Scope``) matching ``filters`` (column ->
    value), newest first, after the ``(submitted_at, id)`` key ``after``; ``overdue_at``: only those
    with a deadline passed at that moment; ``submitted``: (from, until), both included, either None.

    Each scope (a district, the caller's own cases) is its own index scan, merged: an OR across
    them would sort every matching row before taking a page."""
    conditions, params = [], {"limit": limit}
    for column, value in filters.items():
        if column == "assignee_id":
            conditions.append("coalesce(responsible_id, proposed_id) = %(assignee_id)s")
        else:
            conditions.append(f"{column} = %({column})s")
        params[column] = value
    if overdue_at is not None:
        conditions.append(
            f"status IN {_SLA_RUNNING}"
            f" AND (resolution_due_at < %(now)s OR (status = '{lc.SUBMITTED}' AND first_response_due_at < %(now)s))"
        )
        params["now"] = overdue_at
    if submitted[0] is not None:
        conditions.append("submitted_at >= %(submitted_from)s")
        params["submitted_from"] = submitted[0]
    if submitted[1] is not None:
        conditions.append("submitted_at <= %(submitted_until)s")
        params["submitted_until"] = submitted[1]
    if after is not None:
        conditions.append("(submitted_at, id) < (%(after_at)s::timestamptz, %(after_id)s::uuid)")
        params.update(after_at=after[0], after_id=after[1])

    if scope.everything:
        scopes = ["TRUE"]
    elif scope.merchant_id is not None:
        scopes = ["merchant_id = %(own_merchant)s"]
        params["own_merchant"] = scope.merchant_id
    else:
        scopes = []
        for n, district in enumerate(scope.districts):
            scopes.append(f"district_id = %(district_{n})s")
            params[f"district_{n}"] = district
        scopes += ["responsible_id = %(me)s", "proposed_id = %(me)s"]
        params["me"] = scope.person_id

    where = " AND ".join(conditions) or "TRUE"
    branches = [
        f"(SELECT {LIST_COLUMNS} FROM tickets WHERE {branch} AND {where}"
        " ORDER BY submitted_at DESC, id DESC LIMIT %(limit)s)"
        for branch in scopes
    ]
    return session.fetchall(
        f"SELECT * FROM ({' UNION '.join(branches)}) page ORDER BY submitted_at DESC, id DESC LIMIT %(limit)s", params
    )


_FIGURES = (
    "count(*) AS submitted,"
    " count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,"
    f" count(*) FILTER (WHERE status = '{lc.CLOSED}' AND merged_into IS NULL) AS closed,"
    " count(*) FILTER (WHERE merged_into IS NOT NULL) AS merged,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM accepted_at - submitted_at) / 3600)"
    "   AS median_hours_to_first_response,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at) / 3600)"
    "   AS median_hours_to_resolution,"
    # Accepted within the first-response target, of those accepted or whose target has passed.
    " avg((accepted_at IS NOT NULL AND accepted_at <= first_response_due_at)::int)"
    "   FILTER (WHERE accepted_at IS NOT NULL OR first_response_due_at <= %(now)s) AS response_rate,"
    " avg(resolved_on_time::int) FILTER (WHERE resolved_at IS NOT NULL) AS on_time_rate,"
    " avg(rating) AS average_rating,"
    " avg((reopen_count > 0)::int) FILTER (WHERE resolved_at IS NOT NULL) AS reopen_rate,"
    " count(*) FILTER (WHERE refusal_reason IS NOT NULL) AS refusals,"
    # "Closed" is not "solved": what the last follow-up call of each ticket found out.
    " count(follow_up.outcome) AS followed_up,"
    " count(*) FILTER (WHERE follow_up.outcome = 'solved') AS solved,"
    " count(*) FILTER (WHERE follow_up.outcome = 'not_solved') AS not_solved,"
    " count(*) FILTER (WHERE follow_up.outcome = 'unreachable') AS unreachable,"
    " avg((follow_up.outcome = 'solved')::int) FILTER (WHERE follow_up.outcome IN ('solved', 'not_solved'))"
    "   AS solved_rate,"
    " count(*) FILTER (WHERE supervision.placed) AS supervised"
)
_FIGURES_FROM = (
    "FROM tickets LEFT JOIN LATERAL (SELECT f.outcome FROM follow_up_calls f"
    "   WHERE f.ticket_id = tickets.id AND f.outcome IS NOT NULL ORDER BY f.recorded_at DESC LIMIT 1) follow_up ON true"
    " LEFT JOIN LATERAL (SELECT true AS placed FROM supervisions s WHERE s.ticket_id = tickets.id LIMIT 1)"
    "   supervision ON true"
)
# A unit: the district or unit a joint task was sent to, else the demand's district.
UNIT = "coalesce(unit, district_id)"
FIGURE_DIMENSIONS = {
    "by_category": "category",
    "by_district": "district_id",
    "by_responsible": "responsible_id",
    "by_unit": UNIT,
    # The monthly report's heat map: where the demands of each category come from.
    "by_district_category": "district_id || '/' || category",
}


def figures(session, scope, since, until, now, dimensions=FIGURE_DIMENSIONS):
    """The figures of tickets submitted in [since, until) in ``scope`` (everything, or its
    districts), as they stand at ``now``: ``{"total": row, "by_category": [row with "key"], ...}``."""
    params = {"since": since, "until": until, "now": now}
    where = "TRUE"
    if not scope.everything:
        where = "district_id = ANY(%(districts)s)"
        params["districts"] = list(scope.districts)
    base = f"{_FIGURES_FROM} WHERE submitted_at >= %(since)s AND submitted_at < %(until)s AND {where}"
    result = {"total": session.fetchone(f"SELECT {_FIGURES} {base}", params)}
    for dimension in dimensions:
        column = FIGURE_DIMENSIONS[dimension]
        result[dimension] = session.fetchall(f"SELECT {column} AS key, {_FIGURES} {base} GROUP BY 1 ORDER BY 1", params)
    return result


# --- follow-up calls (回访) ----------------------------------------------------------------------


def insert_follow_up(session, values):
    """A follow-up call owed; None if the ticket owes one already (one at a time)."""
    return session.fetchone(
        "INSERT INTO follow_up_calls (id, ticket_id, reason, rating, call_by_id, due_at, scheduled_at)"
        " VALUES (%(id)s, %(ticket_id)s, %(reason)s, %(rating)s, %(call_by_id)s, %(due_at)s, %(scheduled_at)s)"
        " ON CONFLICT (ticket_id) WHERE outcome IS NULL DO NOTHING RETURNING *",
        {**values, "id": str(uuid.uuid4())},
    )


def last_follow_up(session, ticket_id):
    """The ticket's latest follow-up call (owed or recorded), locked; None if it never had one."""
    return session.fetchone(
        "SELECT * FROM follow_up_calls WHERE ticket_id = %s ORDER BY scheduled_at DESC, id LIMIT 1 FOR UPDATE",
        (str(ticket_id),),
    )


def record_follow_up(session, follow_up_id, outcome, note, recorded_by, recorded_at):
    return session.fetchone(
        "UPDATE follow_up_calls SET outcome = %s, note = %s, recorded_by = %s, recorded_at = %s"
        " WHERE id = %s RETURNING *",
        (outcome, note, recorded_by, recorded_at, str(follow_up_id)),
    )


def follow_ups(session, ticket_id):
    return session.fetchall(
        "SELECT * FROM follow_up_calls WHERE ticket_id = %s ORDER BY scheduled_at, id", (str(ticket_id),)
    )


# --- supervision (督办) ---------------------------------------------------------------------------


def insert_supervision(session, values):
    return session.fetchone(
        "INSERT INTO supervisions (id, ticket_id, supervisor_id, reason, placed_at, due_at, next_reminder_at)"
        " VALUES (%(id)s, %(ticket_id)s, %(supervisor_id)s, %(reason)s, %(placed_at)s, %(due_at)s,"
        " %(next_reminder_at)s) RETURNING *",
        {**values, "id": str(uuid.uuid4())},
    )


def lift_supervision(session, ticket_id, lifted_at, because):
    """End the ticket's open supervision; the row, or None if it had none."""
    return session.fetchone(
        "UPDATE supervisions SET lifted_at = %s, lifted_because = %s WHERE ticket_id = %s AND lifted_at IS NULL"
        " RETURNING *",
        (lifted_at, because, str(ticket_id)),
    )


def supervisions_to_remind(session, now, batch):
    """Open supervisions whose reminder is due, soonest first, locked; rows another sweep or a
    command holds are skipped."""
    return session.fetchall(
        "SELECT * FROM supervisions WHERE lifted_at IS NULL AND next_reminder_at <= %(now)s"
        " ORDER BY next_reminder_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
        {"now": now, "batch": batch},
    )


def mark_reminded(session, supervision_id, next_reminder_at):
    return session.fetchone(
        "UPDATE supervisions SET reminders_sent = reminders_sent + 1, next_reminder_at = %s WHERE id = %s"
        " RETURNING reminders_sent",
        (next_reminder_at, supervision_id),
    )


def supervisions(session, ticket_id):
    return session.fetchall("SELECT * FROM supervisions WHERE ticket_id = %s ORDER BY placed_at, id", (str(ticket_id),))


# --- the custody log of assisted handling (帮办) -------------------------------------------------


def insert_custody_item(session, values):
    return session.fetchone(
        "INSERT INTO custody_items (id, ticket_id, merchant_id, document, received_from, received_at,"
        " received_by, location) VALUES (%(id)s, %(ticket_id)s, %(merchant_id)s, %(document)s,"
        " %(received_from)s, %(received_at)s, %(received_by)s, %(location)s) RETURNING *",
        {**values, "id": str(uuid.uuid4())},
    )


def custody_item(session, item_id):
    """The item, locked until commit; ``NotFound`` if none."""
    row = session.fetchone("SELECT * FROM custody_items WHERE id = %s FOR UPDATE", (str(item_id),))
    if row is None:
        raise NotFound(f"no document {item_id} in the custody log")
    return row


def update_custody_item(session, item_id, **changes):
    assignments = ", ".join(f"{column} = %({column})s" for column in changes)
    return session.fetchone(
        f"UPDATE custody_items SET {assignments} WHERE id = %(id)s RETURNING *", {**changes, "id": str(item_id)}
    )


def custody_log(session, ticket_id):
    return session.fetchall(
        "SELECT * FROM custody_items WHERE ticket_id = %s ORDER BY received_at, id", (str(ticket_id),)
    )


# --- what the SLA sweep reads and marks ------------------------------------------------------


def tickets_near_deadline(session, horizon, batch):
    """Tickets whose clock runs with a deadline before ``horizon``, soonest first; rows another
    sweep (or a command) holds are skipped, not waited for."""
    return session.fetchall(
        f"SELECT * FROM tickets WHERE (status IN {_SLA_RUNNING} AND resolution_due_at < %(horizon)s)"
        f" OR (status = '{lc.SUBMITTED}' AND first_response_due_at < %(horizon)s)"
        " ORDER BY resolution_due_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
        {"horizon": horizon, "batch": batch},
    )


def mark_deadlines(session, ticket_id, due_soon_sent, overdue_sent, level):
    """Record what was sent; the escalation level never goes down."""
    session.execute(
        "UPDATE tickets SET due_soon_sent = %s, overdue_sent = %s,"
        " escalation_level = greatest(escalation_level, %s) WHERE id = %s",
        (due_soon_sent, overdue_sent, level, ticket_id),
    )


def resolved_before(session, moment, batch):
    """Resolved tickets resolved at or before ``moment``, oldest first, locked (others skipped)."""
    return session.fetchall(
        f"SELECT * FROM tickets WHERE status = '{lc.RESOLVED}' AND resolved_at <= %(moment)s"
        " ORDER BY resolved_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
        {"moment": moment, "batch": batch},
    )


# --- the registry's facts: merchants, people, pairings ---------------------------------------


def merchant(session, merchant_id):
    return session.fetchone(
        "SELECT merchant_id, district_id, status FROM merchant_directory WHERE merchant_id = %s", (str(merchant_id),)
    )


def is_known_district(session, district_id):
    """Whether the directory knows a merchant of ``district_id`` (a district, not a team)."""
    return (
        session.fetchone("SELECT 1 FROM merchant_directory WHERE district_id = %s LIMIT 1", (district_id,)) is not None
    )


def person(session, person_id):
    return session.fetchone("SELECT person_id, name FROM people_directory WHERE person_id = %s", (person_id,))


def branch_secretary_of(session, district_id):
    """The district's branch secretary as this service knows them (the first by id), or None."""
    return session.fetchval(
        "SELECT person_id FROM people_directory WHERE 'branch_secretary' = ANY (roles) AND district_id = %s"
        " ORDER BY person_id LIMIT 1",
        (district_id,),
    )


# Registry events carry a version per merchant and person; an older version arriving after a newer
# one (handlers run concurrently) changes nothing. The directory's writes are deferred (nobody reads
# their results): an event's whole run — its claim, the write, its audit row — is one round trip.


def upsert_merchant(session, fact):
    session.defer(
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status, version)"
        " VALUES (%(merchant_id)s, %(shop_name)s, %(district_id)s, %(status)s, %(version)s)"
        " ON CONFLICT (merchant_id) DO UPDATE SET shop_name = EXCLUDED.shop_name,"
        " district_id = EXCLUDED.district_id, status = EXCLUDED.status, version = EXCLUDED.version"
        " WHERE merchant_directory.version < EXCLUDED.version",
        fact,
    )


def set_merchant_status(session, fact):
    session.defer(
        "UPDATE merchant_directory SET status = %(status)s, version = %(version)s"
        " WHERE merchant_id = %(merchant_id)s AND version < %(version)s",
        fact,
    )


def upsert_organisation(session, fact):
    """The organisation as its newest event says (an older version arriving later changes nothing)."""
    session.execute(
        "INSERT INTO organisation_directory (organisation_id, type, name, short_name, status, liaison_ids, version)"
        " VALUES (%(organisation_id)s, %(type)s, %(name)s, %(short_name)s, %(status)s, %(liaison_ids)s, %(version)s)"
        " ON CONFLICT (organisation_id) DO UPDATE SET type = EXCLUDED.type, name = EXCLUDED.name,"
        " short_name = EXCLUDED.short_name, status = EXCLUDED.status, liaison_ids = EXCLUDED.liaison_ids,"
        " version = EXCLUDED.version WHERE organisation_directory.version < EXCLUDED.version",
        fact,
    )


def organisation(session, organisation_id):
    """A partner organisation as the directory knows it (None if never announced)."""
    return session.fetchone(
        "SELECT organisation_id, type, name, short_name, status, liaison_ids FROM organisation_directory"
        " WHERE organisation_id = %s",
        (organisation_id,),
    )


def organisation_names(session, organisation_ids):
    """{organisation id: current name} of those the directory knows."""
    rows = session.fetchall(
        "SELECT organisation_id, name FROM organisation_directory WHERE organisation_id = ANY(%s)",
        (list(organisation_ids),),
    )
    return {row["organisation_id"]: row["name"] for row in rows}


def upsert_person(session, fact):
    session.defer(
        "INSERT INTO people_directory (person_id, name, district_id, roles, skills, version)"
        " VALUES (%(person_id)s, %(name)s, %(district_id)s, %(roles)s, %(skills)s, %(version)s)"
        " ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name, district_id = EXCLUDED.district_id,"
        " roles = EXCLUDED.roles, skills = EXCLUDED.skills, version = EXCLUDED.version"
        " WHERE people_directory.version < EXCLUDED.version",
        fact,
    )


def start_pairing(session, fact):
    # If the end arrived first, the pairing is already recorded as ended and stays so.
    session.defer(
        "INSERT INTO pairing_directory (pairing_id, member_id, merchant_id, active)"
        " VALUES (%(pairing_id)s, %(person_id)s, %(merchant_id)s, true) ON CONFLICT (pairing_id) DO NOTHING",
        fact,
    )


def end_pairing(session, fact):
    session.defer(
        "INSERT INTO pairing_directory (pairing_id, member_id, merchant_id, active)"
        " VALUES (%(pairing_id)s, %(person_id)s, %(merchant_id)s, false)"
        " ON CONFLICT (pairing_id) DO UPDATE SET active = false",
        fact,
    )


def announced_ticket(session, event_id):
    """The ticket one of this service's events announced (the outbox keeps rows for days), or None."""
    return session.fetchval("SELECT aggregate_id FROM outbox WHERE event_id = %s", (event_id,))


class RoutingDirectory:
    """Who routing may propose, for one demand's merchant and district (``domain.routing``):
    person ids, best first — the demand's own district first, then fewest open cases."""

    # Open cases per person, to give new work to whoever has the least.
    _LOAD = f"""
    LEFT JOIN (
        SELECT coalesce(responsible_id, proposed_id) AS person_id, count(*) AS open_cases
        FROM tickets
        WHERE status IN {_OPEN}
        GROUP BY 1
    ) load ON load.person_id = p.person_id
    """

    def __init__(self, session, merchant_id, district_id):
        self.session = session
        self.merchant_id = str(merchant_id)
        self.district_id = district_id

    def _people(self, condition, params):
        rows = self.session.fetchall(
            f"SELECT p.person_id FROM people_directory p {self._LOAD} WHERE {condition}"
            " ORDER BY (p.district_id IS DISTINCT FROM %(district)s), coalesce(load.open_cases, 0), p.person_id",
            {**params, "district": self.district_id},
        )
        return [row["person_id"] for row in rows]

    def holding(self, roles):
        """People of the demand's district holding one of ``roles``."""
        return self._people("p.roles && %(roles)s AND p.district_id = %(district)s", {"roles": sorted(roles)})

    def open_work(self, person_ids):
        """{person id: [(resolution_due_at, sla_paused_at)]} of the open demands each owns or was
        proposed for."""
        rows = self.session.fetchall(
            "SELECT coalesce(responsible_id, proposed_id) AS person_id, resolution_due_at, sla_paused_at"
            f" FROM tickets WHERE status IN {_OPEN} AND coalesce(responsible_id, proposed_id) = ANY(%s)",
            (list(person_ids),),
        )
        work = {}
        for row in rows:
            work.setdefault(row["person_id"], []).append((row["resolution_due_at"], row["sla_paused_at"]))
        return work

    def partner(self, organisation_id):
        return organisation(self.session, organisation_id)

    def liaisons(self, partner):
        """The partner's liaisons, fewest open cases first (then in the registry's order)."""
        rows = self.session.fetchall(
            f"SELECT p.person_id FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS p (person_id, n) {self._LOAD}"
            " ORDER BY coalesce(load.open_cases, 0), p.n",
            {"ids": partner["liaison_ids"]},
        )
        return [row["person_id"] for row in rows]

    def experts(self, skills):
        return self._people("p.skills @> %(skills)s", {"skills": sorted(skills)})

    def volunteers(self):
        return self._people("'volunteer' = ANY (p.roles)", {})

    def paired_members(self):
        return self._people(
            "p.person_id IN (SELECT member_id FROM pairing_directory WHERE merchant_id = %(merchant)s AND active)",
            {"merchant": self.merchant_id},
        )
