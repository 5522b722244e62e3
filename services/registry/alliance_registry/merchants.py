"""Merchant use cases: each runs inside the caller's one transaction (``session``)."""

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError

from . import domain, people
from .records import history, json_ready, remember

COLUMNS = (
    "m.id::text AS merchant_id, m.shop_name, m.district_id, m.unit_no, m.category, m.credit_code,"
    " m.contact_phone, m.online_shop_url, m.owner_id::text AS owner_id, m.status, m.version,"
    " m.created_at AS registered_at, m.updated_at"
)
UPDATABLE = ("shop_name", "district_id", "unit_no", "category", "contact_phone", "online_shop_url", "owner_id")
# What a merchant may change in its own record; the rest is the alliance staff's to change.
SELF_SERVICE = {"shop_name", "unit_no", "category", "contact_phone", "online_shop_url"}


def load(session, merchant_id, *, lock=False):
    merchant = session.fetchone(
        f"SELECT {COLUMNS} FROM merchants m WHERE m.id = %s" + (" FOR UPDATE" if lock else ""), (str(merchant_id),)
    )
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id}")
    return merchant


def _check_owner(session, owner_id):
    if owner_id is not None and not session.fetchone("SELECT 1 FROM people WHERE id = %s", (str(owner_id),)):
        raise ValidationError("unknown owner", {"owner_id": [f"no person {owner_id}"]})


def _credit_code_free(session, credit_code):
    if session.fetchone("SELECT 1 FROM merchants WHERE credit_code = %s", (credit_code,)):
        raise Conflict(f"a merchant with credit code {credit_code} is already registered")


def register_merchant(session, caller, cmd, now):
    caller.require_district(cmd["district_id"])  # a district the alliance has: the schema saw to it
    _credit_code_free(session, cmd["credit_code"])
    owner_id = str(cmd["owner_id"]) if cmd["owner_id"] else None
    _check_owner(session, owner_id)
    merchant = session.fetchone(
        "INSERT INTO merchants AS m (shop_name, district_id, unit_no, category, credit_code, contact_phone,"
        " online_shop_url, owner_id, created_at, updated_at) VALUES (%(shop_name)s, %(district_id)s, %(unit_no)s,"
        " %(category)s, %(credit_code)s, %(contact_phone)s, %(online_shop_url)s, %(owner_id)s, %(now)s, %(now)s)"
        f" RETURNING {COLUMNS}",
        {**cmd, "owner_id": owner_id, "now": now},
    )
    announce_registered(session, merchant, caller, now)
    if owner_id:
        people.refresh_roles(session, caller, owner_id, now)
    return json_ready(merchant)


def announce_registered(session, merchant, caller, now):
    session.publish("merchant_registered", merchant, aggregate_id=merchant["merchant_id"])
    remember(session, "merchant", merchant["merchant_id"], "registered", state(merchant), caller, now)


def update_merchant(session, caller, cmd, now):
    merchant = load(session, cmd["merchant_id"], lock=True)
    domain.require_merchant_access(caller, merchant)
    if "expected_version" in cmd and cmd["expected_version"] != merchant["version"]:
        raise Conflict(f"the merchant is at version {merchant['version']}, not {cmd['expected_version']}")
    requested = {k: v for k, v in cmd.items() if k in UPDATABLE}
    if "owner_id" in requested:
        requested["owner_id"] = str(requested["owner_id"]) if requested["owner_id"] else None
    if caller.kind == "merchant" and set(requested) - SELF_SERVICE:
        raise Forbidden(f"a merchant may change only {', '.join(sorted(SELF_SERVICE))}")
    changed = domain.changes(merchant, requested)
    if "district_id" in changed:
        caller.require_district(changed["district_id"])
    if "owner_id" in changed:
        _check_owner(session, changed["owner_id"])
    if not changed:
        return json_ready(merchant)
    return apply_changes(session, caller, merchant, changed, now)


def apply_changes(session, caller, merchant, changed, now):
    """Write ``changed`` to a locked merchant, announce it and keep the owners' roles right."""
    assignments = ", ".join(f"{field} = %({field})s" for field in changed)
    updated = session.fetchone(
        f"UPDATE merchants AS m SET {assignments}, version = version + 1, updated_at = %(now)s"
        f" WHERE id = %(merchant_id)s RETURNING {COLUMNS}",
        {**changed, "now": now, "merchant_id": merchant["merchant_id"]},
    )
    session.publish(
        "merchant_updated",
        {**updated, "changed": sorted(changed), "updated_at": now},
        aggregate_id=updated["merchant_id"],
    )
    remember(session, "merchant", updated["merchant_id"], "updated", changed, caller, now)
    if "owner_id" in changed:
        for owner_id in {merchant["owner_id"], updated["owner_id"]} - {None}:
            people.refresh_roles(session, caller, owner_id, now)
    return json_ready(updated)


def set_merchant_status(session, caller, cmd, now):
    merchant = load(session, cmd["merchant_id"], lock=True)
    caller.require_district(merchant["district_id"])
    domain.check_status_change(merchant["status"], cmd["status"])
    updated = session.fetchone(
        "UPDATE merchants AS m SET status = %s, version = version + 1, updated_at = %s"
        f" WHERE id = %s RETURNING {COLUMNS}",
        (cmd["status"], now, merchant["merchant_id"]),
    )
    session.publish(
        "merchant_status_changed",
        {
            "merchant_id": updated["merchant_id"],
            "district_id": updated["district_id"],
            "version": updated["version"],
            "old_status": merchant["status"],
            "status": updated["status"],
            "reason": cmd["reason"],
            "changed_at": now,
        },
        aggregate_id=updated["merchant_id"],
    )
    remember(
        session,
        "merchant",
        updated["merchant_id"],
        "status_changed",
        {"from": merchant["status"], "to": updated["status"], "reason": cmd["reason"]},
        caller,
        now,
    )
    return json_ready(updated)


def get_merchant(session, caller, cmd):
    merchant = load(session, cmd["merchant_id"])
    domain.require_merchant_access(caller, merchant)
    result = json_ready(merchant)
    if cmd["include_history"]:
        result["history"] = history(session, "merchant", merchant["merchant_id"])
    return result


def search_merchants(session, caller, cmd):
    query = {k: v for k, v in cmd.items() if k not in ("limit", "cursor")}
    after = domain.decode_cursor(cmd["cursor"], query)
    districts = domain.narrow_districts(caller, [cmd["district_id"]] if "district_id" in cmd else None)
    where, params = [], {"limit": cmd["limit"] + 1}
    if districts is not None:
        where.append("m.district_id = ANY(%(districts)s)")
        params["districts"] = districts
    if "name" in cmd:
        grams, exact = domain.name_grams(cmd["name"])
        where.append("m.shop_name_grams @> %(grams)s::text[]")
        params["grams"] = grams
        if not exact:
            where.append("lower(m.shop_name) LIKE %(like)s")
            params["like"] = domain.like_pattern(cmd["name"])
    for field, column in (("phone", "contact_phone"), ("credit_code", "credit_code"), ("category", "category")):
        if field in cmd:
            where.append(f"m.{column} = %({field})s")
            params[field] = cmd[field]
    if "status" in cmd:
        where.append("m.status = %(status)s")
        params["status"] = cmd["status"]
    if "owner_id" in cmd:
        where.append("m.owner_id = %(owner_id)s")
        params["owner_id"] = str(cmd["owner_id"])
    if "honour" in cmd:
        where.append(
            "EXISTS (SELECT 1 FROM honours h WHERE h.merchant_id = m.id AND h.kind = %(honour)s"
            " AND h.revoked_at IS NULL)"
        )
        params["honour"] = cmd["honour"]
    if after is not None:
        where.append("m.id > %(after)s")
        params["after"] = after
    rows = session.fetchall(
        f"SELECT {COLUMNS} FROM merchants m"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY m.id LIMIT %(limit)s",
        params,
    )
    items, next_cursor = domain.page(rows, cmd["limit"], query, key="merchant_id")
    return {"items": json_ready(items), "next_cursor": next_cursor}


def state(merchant):
    return {k: v for k, v in merchant.items() if k not in ("merchant_id", "version", "registered_at", "updated_at")}
