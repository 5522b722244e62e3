"""The tickets service's SQL, all of it: functions taking the use case's session.

Tables: ``tickets`` (one row per demand or joint task), ``timeline`` (what happened to each, with
actor and time), ``reference_counters`` (DM-<year>-<number>, never reused), and the read model of
the registry's facts that routing and reading a ticket use without an RPC: ``merchant_directory``,
``people_directory``, ``pairing_directory``. State names come from ``domain.lifecycle``; the
partial indexes of the migrations name the same states (a use-case test compares them).
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
        " submitted_at, first_response_due_at, resolution_due_at)"
        " SELECT %(id)s,"
        "   format('DM-%%s-%%s', %(year)s, lpad(counter.last::text, greatest(6, length(counter.last::text)), '0')),"
        " %(parent_id)s, %(merchant_id)s, %(district_id)s, %(requester_id)s,"
        " %(category)s, %(handling_mode)s, %(title)s, %(description)s, %(attachments)s, %(status)s, %(style)s,"
        " %(team)s, %(proposed_id)s, %(unit)s, %(checklist)s, %(submitted_at)s, %(first_due)s, %(resolution_due)s"
        " FROM counter RETURNING *",
        {
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
    f" count(*) FILTER (WHERE status = '{lc.CLOSED}') AS closed,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM accepted_at - submitted_at) / 3600)"
    "   AS median_hours_to_first_response,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at) / 3600)"
    "   AS median_hours_to_resolution,"
    " avg(resolved_on_time::int) FILTER (WHERE resolved_at IS NOT NULL) AS on_time_rate,"
    " avg(rating) AS average_rating,"
    " avg((reopen_count > 0)::int) FILTER (WHERE resolved_at IS NOT NULL) AS reopen_rate,"
    " count(*) FILTER (WHERE refusal_reason IS NOT NULL) AS refusals"
)
FIGURE_DIMENSIONS = {"by_category": "category", "by_district": "district_id", "by_responsible": "responsible_id"}


def figures(session, scope, since, until):
    """The figures of tickets submitted in [since, until) in ``scope`` (everything, or its
    districts): ``{"total": row, "by_category": [row with "key"], ...}``."""
    params = {"since": since, "until": until}
    where = "TRUE"
    if not scope.everything:
        where = "district_id = ANY(%(districts)s)"
        params["districts"] = list(scope.districts)
    base = f"FROM tickets WHERE submitted_at >= %(since)s AND submitted_at < %(until)s AND {where}"
    result = {"total": session.fetchone(f"SELECT {_FIGURES} {base}", params)}
    for dimension, column in FIGURE_DIMENSIONS.items():
        result[dimension] = session.fetchall(f"SELECT {column} AS key, {_FIGURES} {base} GROUP BY 1 ORDER BY 1", params)
    return result


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
# one (handlers run concurrently) changes nothing.


def upsert_merchant(session, fact):
    session.execute(
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status, version)"
        " VALUES (%(merchant_id)s, %(shop_name)s, %(district_id)s, %(status)s, %(version)s)"
        " ON CONFLICT (merchant_id) DO UPDATE SET shop_name = EXCLUDED.shop_name,"
        " district_id = EXCLUDED.district_id, status = EXCLUDED.status, version = EXCLUDED.version"
        " WHERE merchant_directory.version < EXCLUDED.version",
        fact,
    )


def set_merchant_status(session, fact):
    session.execute(
        "UPDATE merchant_directory SET status = %(status)s, version = %(version)s"
        " WHERE merchant_id = %(merchant_id)s AND version < %(version)s",
        fact,
    )


def upsert_person(session, fact):
    session.execute(
        "INSERT INTO people_directory (person_id, name, district_id, roles, skills, version)"
        " VALUES (%(person_id)s, %(name)s, %(district_id)s, %(roles)s, %(skills)s, %(version)s)"
        " ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name, district_id = EXCLUDED.district_id,"
        " roles = EXCLUDED.roles, skills = EXCLUDED.skills, version = EXCLUDED.version"
        " WHERE people_directory.version < EXCLUDED.version",
        fact,
    )


def start_pairing(session, fact):
    # If the end arrived first, the pairing is already recorded as ended and stays so.
    session.execute(
        "INSERT INTO pairing_directory (pairing_id, member_id, merchant_id, active)"
        " VALUES (%(pairing_id)s, %(person_id)s, %(merchant_id)s, true) ON CONFLICT (pairing_id) DO NOTHING",
        fact,
    )


def end_pairing(session, fact):
    session.execute(
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

    def experts(self, skills):
        return self._people("p.skills @> %(skills)s", {"skills": sorted(skills)})

    def volunteers(self):
        return self._people("'volunteer' = ANY (p.roles)", {})

    def paired_members(self):
        return self._people(
            "p.person_id IN (SELECT member_id FROM pairing_directory WHERE merchant_id = %(merchant)s AND active)",
            {"merchant": self.merchant_id},
        )
