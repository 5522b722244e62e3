"""Reading the demand list: one ticket, lists, the timeline and the figures units are ranked by."""

from alliance_platform.errors import NotFound
from alliance_platform.paging import decode_cursor, page

from . import lifecycle as lc

_LIST_COLUMNS = (
    "id, reference, merchant_id, district_id, category, handling_mode, title, status, style, team,"
    " proposed_id, responsible_id, parent_id, submitted_at, first_response_due_at, resolution_due_at,"
    " sla_paused_at, resolved_at, closed_at, rating, escalation_level"
)


def find(desk, ticket_id=None, reference=None):
    if reference is not None:
        row = desk.session.fetchone("SELECT * FROM tickets WHERE reference = %s", (reference,))
        if row is None:
            raise NotFound(f"no ticket {reference}")
        return row
    return desk.load(ticket_id, lock=False)


def get(desk, ticket_id=None, reference=None):
    ticket = find(desk, ticket_id, reference)
    desk.require_view(ticket)
    owner = None
    if ticket["responsible_id"]:
        owner = desk.session.fetchone(
            "SELECT person_id, name FROM people_directory WHERE person_id = %s", (ticket["responsible_id"],)
        ) or {"person_id": ticket["responsible_id"], "name": None}
    pause_reason = None
    if ticket["status"] == lc.WAITING_ON_MERCHANT:
        pause_reason = desk.session.fetchval(
            "SELECT text FROM timeline WHERE ticket_id = %s AND kind = 'sla_paused' ORDER BY id DESC LIMIT 1",
            (ticket["id"],),
        )
    view = {
        "ticket_id": str(ticket["id"]),
        "reference": ticket["reference"],
        "merchant_id": str(ticket["merchant_id"]),
        "district_id": ticket["district_id"],
        "category": ticket["category"],
        "handling_mode": ticket["handling_mode"],
        "title": ticket["title"],
        "description": ticket["description"],
        "attachments": ticket["attachments"],
        "status": ticket["status"],
        "responsible": owner,
        "promised_by": ticket["resolution_due_at"].isoformat(),
        "paused_because": pause_reason,
        "submitted_at": ticket["submitted_at"].isoformat(),
        "resolved_at": _iso(ticket["resolved_at"]),
        "resolution": ticket["resolution"],
        "rating": ticket["rating"],
        "parent_id": _str(ticket["parent_id"]),
    }
    if desk.is_merchant_of(ticket) and not desk.is_handler_of(ticket):
        return view
    return {
        **view,
        "style": ticket["style"],
        "team": ticket["team"],
        "proposed_id": ticket["proposed_id"],
        "unit": ticket["unit"],
        "checklist": ticket["checklist"],
        "partner": ticket["partner"],
        "partner_reply": ticket["partner_reply"],
        "first_response_due_at": ticket["first_response_due_at"].isoformat(),
        "accepted_at": _iso(ticket["accepted_at"]),
        "escalation_level": ticket["escalation_level"],
        "reopen_count": ticket["reopen_count"],
        "children": [
            {"ticket_id": str(c["id"]), "reference": c["reference"], "unit": c["unit"], "status": c["status"]}
            for c in desk.session.fetchall(
                "SELECT id, reference, unit, status FROM tickets WHERE parent_id = %s ORDER BY submitted_at",
                (ticket["id"],),
            )
        ],
    }


def timeline(desk, ticket_id):
    ticket = desk.load(ticket_id, lock=False)
    desk.require_view(ticket)
    merchant_only = desk.is_merchant_of(ticket) and not desk.is_handler_of(ticket)
    rows = desk.session.fetchall(
        "SELECT at, actor, kind, from_status, to_status, text, visible_to_merchant, data FROM timeline"
        " WHERE ticket_id = %s" + (" AND visible_to_merchant" if merchant_only else "") + " ORDER BY id",
        (ticket["id"],),
    )
    return [{**row, "at": row["at"].isoformat()} for row in rows]


def list_tickets(desk, cmd):
    """Newest first, keyset-paged. Each scope (a district, the caller's own cases) is its own index
    scan, merged: an OR across them would sort every matching row before taking a page."""
    caller = desk.caller
    filters, params = [], {"limit": cmd["limit"] + 1}
    for column in ("merchant_id", "status", "category"):
        if cmd.get(column) is not None:
            filters.append(f"{column} = %({column})s")
            params[column] = str(cmd[column])
    if cmd.get("assignee_id") is not None:
        filters.append("coalesce(responsible_id, proposed_id) = %(assignee_id)s")
        params["assignee_id"] = cmd["assignee_id"]
    if cmd.get("overdue"):
        filters.append(
            "status IN ('submitted', 'accepted', 'in_progress', 'referred')"
            " AND (resolution_due_at < %(now)s OR (status = 'submitted' AND first_response_due_at < %(now)s))"
        )
        params["now"] = desk.now
    key = decode_cursor(cmd.get("cursor"), 2)
    if key is not None:
        filters.append("(submitted_at, id) < (%(after_at)s::timestamptz, %(after_id)s::uuid)")
        params.update(after_at=key[0], after_id=key[1])

    scopes = []
    if caller.kind == "merchant":
        scopes.append("merchant_id = %(own_merchant)s")
        params["own_merchant"] = caller.merchant_id
    elif caller.is_admin or "*" in caller.districts or caller.kind == "system":
        scopes.append("TRUE")
    else:
        for n, district in enumerate(sorted(caller.districts)):
            scopes.append(f"district_id = %(district_{n})s")
            params[f"district_{n}"] = district
        scopes += ["responsible_id = %(me)s", "proposed_id = %(me)s"]
        params["me"] = caller.subject
    if cmd.get("district_id") is not None:
        filters.append("district_id = %(district_id)s")
        params["district_id"] = cmd["district_id"]

    where = " AND ".join(filters) or "TRUE"
    branches = [
        f"(SELECT {_LIST_COLUMNS} FROM tickets WHERE {scope} AND {where}"
        " ORDER BY submitted_at DESC, id DESC LIMIT %(limit)s)"
        for scope in scopes
    ]
    rows = desk.session.fetchall(
        f"SELECT * FROM ({' UNION '.join(branches)}) page ORDER BY submitted_at DESC, id DESC LIMIT %(limit)s", params
    )
    return page([_listed(r) for r in rows], cmd["limit"], key=lambda r: (r["submitted_at"], r["ticket_id"]))


def _listed(row):
    out = {k: v for k, v in row.items() if k != "id"}
    out["ticket_id"] = str(row["id"])
    for column in ("merchant_id", "parent_id"):
        out[column] = _str(row[column])
    for column in (
        "submitted_at",
        "first_response_due_at",
        "resolution_due_at",
        "sla_paused_at",
        "resolved_at",
        "closed_at",
    ):
        out[column] = _iso(row[column])
    return out


def stats(desk, cmd):
    """Per category, district and responsible person, for tickets submitted in the period."""
    caller = desk.caller
    params = {"since": cmd["since"], "until": cmd["until"]}
    scope = "TRUE"
    if not (caller.is_admin or "*" in caller.districts or caller.kind == "system"):
        scope = "district_id = ANY(%(districts)s)"
        params["districts"] = sorted(caller.districts)
    figures = (
        "count(*) AS submitted,"
        " count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,"
        " count(*) FILTER (WHERE status = 'closed') AS closed,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM accepted_at - submitted_at) / 3600)"
        "   AS median_hours_to_first_response,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at) / 3600)"
        "   AS median_hours_to_resolution,"
        " avg(resolved_on_time::int) FILTER (WHERE resolved_at IS NOT NULL) AS on_time_rate,"
        " avg(rating) AS average_rating,"
        " avg((reopen_count > 0)::int) FILTER (WHERE resolved_at IS NOT NULL) AS reopen_rate,"
        " count(*) FILTER (WHERE refusal_reason IS NOT NULL) AS refusals"
    )
    base = f"FROM tickets WHERE submitted_at >= %(since)s AND submitted_at < %(until)s AND {scope}"
    result = {"since": cmd["since"].isoformat(), "until": cmd["until"].isoformat()}
    result["total"] = _numbers(desk.session.fetchone(f"SELECT {figures} {base}", params))
    for dimension, column in (
        ("by_category", "category"),
        ("by_district", "district_id"),
        ("by_responsible", "responsible_id"),
    ):
        rows = desk.session.fetchall(f"SELECT {column} AS key, {figures} {base} GROUP BY 1 ORDER BY 1", params)
        result[dimension] = {str(row.pop("key")): _numbers(row) for row in rows}
    return result


def _numbers(row):
    return {k: (None if v is None else round(float(v), 3) if not isinstance(v, int) else v) for k, v in row.items()}


def _iso(value):
    return None if value is None else value.isoformat()


def _str(value):
    return None if value is None else str(value)
