"""Honours (star Party-member merchant, model store, member-business plaque) and pairings (结对)."""

import structlog

from alliance_platform.errors import Conflict, NotFound, ValidationError
from alliance_platform.identity import ALL_DISTRICTS, Identity

from . import domain, merchants
from .records import json_ready, remember

HONOUR_COLUMNS = (
    "h.id::text AS honour_id, h.merchant_id::text AS merchant_id, m.district_id, h.kind, h.year, h.stars,"
    " h.reason, h.awarded_by, h.awarded_on, h.awarded_at, h.revoked_at, h.revoked_reason"
)
log = structlog.get_logger("alliance.registry")

PAIRING_COLUMNS = (
    "pr.id::text AS pairing_id, pr.person_id::text AS person_id, pr.merchant_id::text AS merchant_id,"
    " m.district_id, pr.started_on, pr.ended_on, pr.end_reason, pr.note"
)


def award_honour(session, caller, cmd, now):
    merchant = merchants.load(session, cmd["merchant_id"], lock=True)
    caller.require_district(merchant["district_id"])
    domain.check_honour(cmd["kind"], cmd["stars"], cmd["year"])
    if not session.fetchone("SELECT 1 FROM organisations WHERE id = %s", (cmd["awarded_by"],)):
        raise ValidationError("unknown organisation", {"awarded_by": [f"no organisation {cmd['awarded_by']!r}"]})
    if merchant["status"] == "closed":
        raise Conflict("a closed merchant cannot be honoured")
    if merchant["owner_id"] is None or not session.fetchone(
        "SELECT 1 FROM party_members WHERE person_id = %s", (merchant["owner_id"],)
    ):
        raise ValidationError(
            "not a Party-member merchant", {"merchant_id": ["the merchant's owner is not a registered Party member"]}
        )
    standing = session.fetchone(
        "SELECT id FROM honours WHERE merchant_id = %s AND kind = %s AND coalesce(year, 0) = coalesce(%s, 0)"
        " AND revoked_at IS NULL",
        (merchant["merchant_id"], cmd["kind"], cmd["year"]),
    )
    if standing:
        raise Conflict(f"the merchant already holds this honour ({standing['id']})")
    honour = session.fetchone(
        "WITH h AS (INSERT INTO honours (merchant_id, kind, year, stars, reason, awarded_by, awarded_on, awarded_at)"
        " VALUES (%(merchant_id)s, %(kind)s, %(year)s, %(stars)s, %(reason)s, %(awarded_by)s, %(awarded_on)s,"
        f" %(now)s) RETURNING *) SELECT {HONOUR_COLUMNS} FROM h JOIN merchants m ON m.id = h.merchant_id",
        {
            **cmd,
            "merchant_id": merchant["merchant_id"],
            "awarded_on": cmd["awarded_on"] or domain.today(now),
            "now": now,
        },
    )
    session.publish("honour_awarded", honour, aggregate_id=merchant["merchant_id"])
    details = {k: honour[k] for k in ("honour_id", "kind", "year", "stars", "reason", "awarded_by", "awarded_on")}
    remember(session, "merchant", merchant["merchant_id"], "honour_awarded", details, caller, now)
    return json_ready(honour)


def _load_honour(session, honour_id):
    honour = session.fetchone(
        f"SELECT {HONOUR_COLUMNS} FROM honours h JOIN merchants m ON m.id = h.merchant_id WHERE h.id = %s",
        (str(honour_id),),
    )
    if honour is None:
        raise NotFound(f"no honour {honour_id}")
    return honour


def revoke_honour(session, caller, cmd, now):
    honour = _load_honour(session, cmd["honour_id"])
    merchants.load(session, honour["merchant_id"], lock=True)  # the merchant's events stay in order
    caller.require_district(honour["district_id"])
    revoked = session.fetchone(
        "UPDATE honours SET revoked_at = %s, revoked_reason = %s WHERE id = %s AND revoked_at IS NULL RETURNING id",
        (now, cmd["reason"], honour["honour_id"]),
    )
    if revoked is None:
        raise Conflict(f"honour {honour['honour_id']} was already revoked")
    honour.update(revoked_at=now, revoked_reason=cmd["reason"])
    session.publish("honour_revoked", {**honour, "reason": cmd["reason"]}, aggregate_id=honour["merchant_id"])
    remember(
        session,
        "merchant",
        honour["merchant_id"],
        "honour_revoked",
        {"honour_id": honour["honour_id"], "kind": honour["kind"], "reason": cmd["reason"]},
        caller,
        now,
    )
    return json_ready(honour)


def list_honours(session, caller, cmd):
    query = {k: v for k, v in cmd.items() if k not in ("limit", "cursor")}
    after = domain.decode_cursor(cmd["cursor"], query)
    where, params = [], {"limit": cmd["limit"] + 1}
    if caller.kind == "merchant":
        if "merchant_id" in cmd and str(cmd["merchant_id"]) != caller.merchant_id:
            domain.require_merchant_access(caller, {"merchant_id": str(cmd["merchant_id"])})
        where.append("h.merchant_id = %(own)s")
        params["own"] = caller.merchant_id
    else:
        districts = domain.narrow_districts(caller, None)
        if districts is not None:
            where.append("m.district_id = ANY(%(districts)s)")
            params["districts"] = districts
    if "merchant_id" in cmd:
        where.append("h.merchant_id = %(merchant_id)s")
        params["merchant_id"] = str(cmd["merchant_id"])
    if "kind" in cmd:
        where.append("h.kind = %(kind)s")
        params["kind"] = cmd["kind"]
    if "year" in cmd:
        where.append("h.year = %(year)s")
        params["year"] = cmd["year"]
    if not cmd["include_revoked"]:
        where.append("h.revoked_at IS NULL")
    if after is not None:
        where.append("h.id > %(after)s")
        params["after"] = after
    rows = session.fetchall(
        f"SELECT {HONOUR_COLUMNS} FROM honours h JOIN merchants m ON m.id = h.merchant_id"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY h.id LIMIT %(limit)s",
        params,
    )
    items, next_cursor = domain.page(rows, cmd["limit"], query, key="honour_id")
    return {"items": json_ready(items), "next_cursor": next_cursor}


def start_pairing(session, caller, cmd, now):
    merchant = merchants.load(session, cmd["merchant_id"], lock=True)
    caller.require_district(merchant["district_id"])
    person_id = str(cmd["person_id"])
    if not session.fetchone("SELECT 1 FROM people WHERE id = %s", (person_id,)):
        raise NotFound(f"no person {person_id}")
    if not session.fetchone("SELECT 1 FROM party_members WHERE person_id = %s", (person_id,)):
        raise ValidationError("not a Party member", {"person_id": ["only a registered Party member is paired"]})
    if merchant["status"] == "closed":
        raise Conflict("a closed merchant cannot be paired")
    started_on = cmd["started_on"] or domain.today(now)
    if started_on > domain.today(now):
        raise ValidationError("invalid pairing", {"started_on": ["cannot be in the future"]})
    if session.fetchone(
        "SELECT 1 FROM pairings WHERE person_id = %s AND merchant_id = %s AND ended_on IS NULL",
        (person_id, merchant["merchant_id"]),
    ):
        raise Conflict("this Party member is already paired with this merchant")
    pairing = session.fetchone(
        "WITH pr AS (INSERT INTO pairings (person_id, merchant_id, started_on, note) VALUES (%s, %s, %s, %s)"
        f" RETURNING *) SELECT {PAIRING_COLUMNS} FROM pr JOIN merchants m ON m.id = pr.merchant_id",
        (person_id, merchant["merchant_id"], started_on, cmd["note"]),
    )
    session.publish("pairing_started", pairing, aggregate_id=merchant["merchant_id"])
    remember(
        session,
        "merchant",
        merchant["merchant_id"],
        "pairing_started",
        {"pairing_id": pairing["pairing_id"], "person_id": person_id, "started_on": started_on},
        caller,
        now,
    )
    return json_ready({**pairing, "status": "active"})


def end_pairing(session, caller, cmd, now):
    pairing = session.fetchone(
        f"SELECT {PAIRING_COLUMNS} FROM pairings pr JOIN merchants m ON m.id = pr.merchant_id WHERE pr.id = %s",
        (str(cmd["pairing_id"]),),
    )
    if pairing is None:
        raise NotFound(f"no pairing {cmd['pairing_id']}")
    merchants.load(session, pairing["merchant_id"], lock=True)
    caller.require_district(pairing["district_id"])
    if pairing["ended_on"] is not None:
        raise Conflict(f"the pairing already ended on {pairing['ended_on']}")
    ended_on = cmd["ended_on"] or domain.today(now)
    if not pairing["started_on"] <= ended_on <= domain.today(now):
        raise ValidationError("invalid end", {"ended_on": ["between the start and today, both included"]})
    session.execute(
        "UPDATE pairings SET ended_on = %s, end_reason = %s WHERE id = %s",
        (ended_on, cmd["reason"], pairing["pairing_id"]),
    )
    pairing.update(ended_on=ended_on, end_reason=cmd["reason"])
    session.publish("pairing_ended", {**pairing, "reason": cmd["reason"]}, aggregate_id=pairing["merchant_id"])
    remember(
        session,
        "merchant",
        pairing["merchant_id"],
        "pairing_ended",
        {"pairing_id": pairing["pairing_id"], "ended_on": ended_on, "reason": cmd["reason"]},
        caller,
        now,
    )
    return json_ready({**pairing, "status": "ended"})


def award_evaluation_winners(session, event, now):
    """Honour the winners an evaluation (评选) of the events service named, in rank order.

    Each award is its own savepoint: a winner the register cannot honour (its owner is no Party
    member, it closed meanwhile, it already holds the honour) is reported and skipped, and the
    others are honoured. The history names the evaluation and who closed it.
    """
    result = event.payload
    judge = Identity(
        f"evaluation {result['activity_id']} closed by {event.actor or 'events'}",
        "system",
        roles=frozenset({"system"}),
        districts=frozenset({ALL_DISTRICTS}),
    )
    outcome = {"awarded": [], "skipped": []}
    for winner in result["winners"]:
        cmd = {
            "merchant_id": winner["merchant_id"],
            "kind": result["kind"],
            "year": result["year"],
            "stars": result["stars"],
            "reason": f"{result['title']}：第{winner['rank']}名（{winner['votes']}票）",
            "awarded_by": "alliance",
            "awarded_on": None,
        }
        try:
            with session.connection.transaction():
                outcome["awarded"].append(award_honour(session, judge, cmd, now)["honour_id"])
        except (ValidationError, Conflict, NotFound) as refusal:
            log.warning("evaluation winner not honoured", merchant_id=winner["merchant_id"], reason=str(refusal))
            outcome["skipped"].append({"merchant_id": winner["merchant_id"], "reason": str(refusal)})
    return outcome
