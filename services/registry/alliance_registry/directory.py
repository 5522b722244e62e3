"""Read-only views across the register: districts, organisations, audiences and statistics."""

from alliance_contracts.registry import HONOUR_KINDS, PERSON_ROLES
from alliance_platform.errors import Forbidden, ValidationError

from . import domain, people
from .records import json_ready

# What a notifier needs to reach a merchant: its contact phone, else its owner's mobile; and the
# owner's language.
_MERCHANT_CONTACT = (
    "SELECT 'merchant' AS kind, m.id::text AS id, m.shop_name AS name,"
    " coalesce(m.contact_phone, o.mobile) AS mobile, coalesce(o.language, 'zh-CN') AS language,"
    " m.district_id, m.owner_id::text AS person_id"
    " FROM merchants m LEFT JOIN people o ON o.id = m.owner_id"
)
_PERSON_CONTACT = (
    "SELECT 'person' AS kind, p.id::text AS id, p.name, p.mobile, p.language, p.district_id, p.id::text AS person_id"
    " FROM people p"
)


def list_districts(session):
    return session.fetchall("SELECT id, name, name_en, is_alliance_base FROM districts ORDER BY id")


def list_organisations(session, cmd):
    if "parent_id" in cmd and not session.fetchone("SELECT 1 FROM organisations WHERE id = %s", (cmd["parent_id"],)):
        # An unknown parent is a mistake to point out, not an organisation without children.
        raise ValidationError("unknown organisation", {"parent_id": [f"no organisation {cmd['parent_id']!r}"]})
    where, params = [], {}
    for field in ("type", "parent_id"):
        if field in cmd:
            where.append(f"{field} = %({field})s")
            params[field] = cmd[field]
    return session.fetchall(
        "SELECT id, name, name_en, type, parent_id, district_id FROM organisations"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY parent_id NULLS FIRST, id",
        params,
    )


def resolve_audience(session, caller, cmd):
    """The contacts of an audience, a page at a time, each contact once, in a stable order."""
    query = {
        k: (sorted(map(str, v)) if isinstance(v, list) else v) for k, v in cmd.items() if k not in ("limit", "cursor")
    }
    after = domain.decode_cursor(cmd["cursor"], query)
    params = {"limit": cmd["limit"] + 1, "after": after}
    unknown, cursor_key = [], "id"
    if "districts" in cmd:
        for district in cmd["districts"]:
            caller.require_district(district)
        params["districts"] = sorted(set(cmd["districts"]))
        # Paged in (district, id) order, which the (district_id, id) index returns as it is: in id
        # order alone the planner walks the primary key and filters, 35 ms a page at city scale.
        select, key, where = (
            _MERCHANT_CONTACT,
            "m.district_id, m.id",
            "m.district_id = ANY(%(districts)s) AND m.status <> 'closed'",
        )
        if after is not None:
            params["after_district"], params["after"] = after.split(" ", 1)
        cursor_key = lambda row: f"{row['district_id']} {row['id']}"  # noqa: E731
    elif "merchant_ids" in cmd:
        params["ids"] = sorted({str(i) for i in cmd["merchant_ids"]})
        unknown = _known_in_scope(session, caller, "merchants", params["ids"])
        select, key, where = _MERCHANT_CONTACT, "m.id", "m.id = ANY(%(ids)s::uuid[])"
    elif "person_ids" in cmd:
        params["ids"] = sorted({str(i) for i in cmd["person_ids"]})
        unknown = _known_in_scope(session, caller, "people", params["ids"])
        select, key, where = _PERSON_CONTACT, "p.id", "p.id = ANY(%(ids)s::uuid[])"
    elif "branch_id" in cmd:
        branch = people.load_branch(session, cmd["branch_id"])
        caller.require_district(branch["district_id"])
        params["branch"] = branch["id"]
        select = f"{_PERSON_CONTACT} JOIN party_members pm ON pm.person_id = p.id"
        key, where = "p.id", "pm.branch_id = %(branch)s"
    else:
        # A role, or a team (the members demands routed to it should reach), in the caller's districts.
        if "team" in cmd:
            params["team"] = cmd["team"]
            select, key, where = _PERSON_CONTACT, "p.id", "p.teams @> ARRAY[%(team)s]"
        else:
            params["role"] = cmd["role"]
            select, key, where = _PERSON_CONTACT, "p.id", "p.roles @> ARRAY[%(role)s]"
        districts = domain.narrow_districts(caller, None)
        if districts is not None:
            where += " AND p.district_id = ANY(%(districts)s)"
            params["districts"] = districts
    if after is not None:
        composite = "(%(after_district)s, %(after)s::uuid)" if "after_district" in params else "%(after)s"
        where += f" AND ({key}) > {composite}"
    rows = session.fetchall(f"{select} WHERE {where} ORDER BY {key} LIMIT %(limit)s", params)
    contacts, next_cursor = domain.page(rows, cmd["limit"], query, key=cursor_key)
    return {"contacts": contacts, "next_cursor": next_cursor, "unknown_ids": unknown}


def _known_in_scope(session, caller, table, ids):
    """The ids of ``ids`` not in ``table``; Forbidden if any found record is outside the caller's scope."""
    found = session.fetchall(f"SELECT id::text, district_id FROM {table} WHERE id = ANY(%s::uuid[])", (ids,))
    outside = sorted({str(row["district_id"]) for row in found if not caller.covers_district(row["district_id"])})
    if outside:
        raise Forbidden(f"{caller.kind} {caller.subject} may not reach records of districts {outside}")
    return sorted(set(ids) - {row["id"] for row in found})


def stats(session, caller, now):
    districts = domain.narrow_districts(caller, None)
    scope = {"districts": districts}
    in_scope = "" if districts is None else " AND district_id = ANY(%(districts)s)"
    by_district = session.fetchall(
        f"SELECT district_id, status, count(*) AS n FROM merchants WHERE true{in_scope} GROUP BY 1, 2", scope
    )
    by_category = session.fetchall(
        f"SELECT category, count(*) AS n FROM merchants WHERE status <> 'closed'{in_scope} GROUP BY 1 ORDER BY 1",
        scope,
    )
    role_counts = ", ".join(f"count(*) FILTER (WHERE roles @> ARRAY['{role}']) AS {role}" for role in PERSON_ROLES)
    by_role = session.fetchone(f"SELECT {role_counts} FROM people WHERE true{in_scope}", scope)
    by_honour = session.fetchall(
        "SELECT h.kind, count(*) AS n FROM honours h JOIN merchants m ON m.id = h.merchant_id"
        f" WHERE h.revoked_at IS NULL{in_scope.replace('district_id', 'm.district_id')} GROUP BY 1",
        scope,
    )
    floating = session.fetchone(
        "SELECT count(*) AS floating, count(*) FILTER (WHERE pm.transfer_due_on <= %(today)s) AS due"
        " FROM party_members pm JOIN organisations o ON o.id = pm.branch_id"
        f" WHERE pm.floating AND pm.transferred_in_on IS NULL{in_scope.replace('district_id', 'o.district_id')}",
        {**scope, "today": domain.today(now)},
    )
    merchants_by_district = {}
    for row in by_district:
        merchants_by_district.setdefault(row["district_id"], {})[row["status"]] = row["n"]
    honours = dict.fromkeys(HONOUR_KINDS, 0) | {row["kind"]: row["n"] for row in by_honour}
    return json_ready(
        {
            "as_of": now,
            "merchants_by_district": merchants_by_district,
            "merchants_by_category": {row["category"]: row["n"] for row in by_category},
            "people_by_role": by_role,
            "honours_by_kind": honours,
            "floating_members": floating["floating"],
            "floating_members_due_for_transfer": floating["due"],
        }
    )
