"""The registry's read side: gets, lists, searches, audiences and statistics, ``query(ctx, cmd)``.

They only read (the entrypoints run them without a transaction) and see what the caller may see:
staff their districts, an administrator everything, a merchant its own record and its owner's.
ID-card numbers are shown masked to everyone but an administrator. Lists come in pages whose
cursor is refused for another query (``domain.paging``).
"""

import uuid
from datetime import datetime, time, timedelta

from alliance_contracts.registry import HONOUR_KINDS
from alliance_platform.errors import Forbidden, ServiceUnavailable, ValidationError

from . import storage
from .domain import access, membership, paging, pairings, people, points, systems, transfers
from .domain.days import CHINA, today
from .domain.id_cards import UnreadableIdCard, rotation_report
from .use_cases import (
    load_branch,
    load_member,
    load_merchant,
    load_organisation,
    load_person,
    require_person_access,
)


def list_districts(ctx):
    return storage.districts(ctx.session)


def list_organisations(ctx, cmd):
    if "parent_id" in cmd and not storage.organisation_exists(ctx.session, cmd["parent_id"]):
        # An unknown parent is a mistake to point out, not an organisation without children.
        raise ValidationError("unknown organisation", {"parent_id": [f"no organisation {cmd['parent_id']!r}"]})
    return storage.organisations(ctx.session, cmd)


def get_organisation(ctx, cmd):
    return load_organisation(ctx.session, cmd["organisation_id"])


def organisation_history(ctx, cmd):
    """An organisation's versions, oldest first: the change, before and after, who and when."""
    organisation = load_organisation(ctx.session, cmd["organisation_id"])
    query = paging.query_of(cmd)
    after = paging.decode_cursor(cmd["cursor"], query)
    try:
        after_version = int(after or 0)
    except ValueError as exc:
        raise ValidationError("invalid cursor", {"cursor": ["not a cursor this service issued"]}) from exc
    rows = storage.organisation_history(ctx.session, organisation["organisation_id"], after_version, cmd["limit"] + 1)
    items, next_cursor = paging.page(rows, cmd["limit"], query, key="version")
    return {"items": items, "next_cursor": next_cursor}


def get_merchant(ctx, cmd):
    merchant = load_merchant(ctx.session, cmd["merchant_id"])
    access.require_merchant_access(ctx.caller, merchant)
    if cmd["include_history"]:
        merchant["history"] = storage.history(ctx.session, "merchant", merchant["merchant_id"])
    return merchant


def search_merchants(ctx, cmd):
    query = paging.query_of(cmd)
    after = paging.decode_cursor(cmd["cursor"], query)
    districts = access.narrow_districts(ctx.caller, [cmd["district_id"]] if "district_id" in cmd else None)
    rows = storage.search_merchants(ctx.session, cmd, districts, after, cmd["limit"] + 1)
    items, next_cursor = paging.page(rows, cmd["limit"], query, key="merchant_id")
    return {"items": items, "next_cursor": next_cursor}


def get_person(ctx, cmd):
    session, caller = ctx.session, ctx.caller
    person = load_person(session, cmd["person_id"])
    require_person_access(ctx, person)
    id_card_no = None
    if caller.is_admin and person["id_card_masked"] is not None:
        try:
            id_card_no = ctx.settings.id_cards.unseal(storage.id_card_sealed(session, person["person_id"]))
        except UnreadableIdCard as exc:
            raise ServiceUnavailable(f"{exc} (REGISTRY_ID_CARD_KEYS_PREVIOUS; alliance id-card-keys)") from exc
    result = people.shown(person, id_card_no)
    member = storage.party_member(session, person["person_id"])
    if member is not None:
        on_day = today(ctx.now)
        member["party_age"] = membership.party_age(member["joined_on"], on_day)
        latest = storage.latest_transfer(session, person["person_id"]) if member["floating"] else None
        member["transfer_state"] = transfers.state(member, latest, on_day)
        member["transfer"] = latest
        member["activity_card"] = transfers.activity_card(member, on_day)
    result["party_member"] = member
    if cmd["include_history"]:
        result["history"] = storage.history(session, "person", person["person_id"])
    return result


def search_people(ctx, cmd):
    query = paging.query_of(cmd)
    after = paging.decode_cursor(cmd["cursor"], query)
    districts = access.narrow_districts(ctx.caller, [cmd["district_id"]] if "district_id" in cmd else None)
    digests = None
    if "id_card_no" in cmd:
        access.require_id_card_lookup(ctx.caller)
        digests = ctx.settings.id_cards.digests(cmd["id_card_no"])  # under every key held
    rows = storage.search_people(ctx.session, cmd, districts, digests, after, cmd["limit"] + 1)
    items, next_cursor = paging.page(rows, cmd["limit"], query, key="person_id")
    return {"items": [people.shown(p) for p in items], "next_cursor": next_cursor}


def id_card_keys(ctx):
    """Where the ID-card key rotation stands: the numbers under each key, as this instance sees
    the keys (``domain.id_cards.rotation_report``)."""
    return {"as_of": ctx.now, **rotation_report(ctx.settings.id_cards, storage.id_card_key_counts(ctx.session))}


def list_pairings(ctx, cmd):
    """A merchant's pairings with Party members (a merchant sees its own), or a member's."""
    caller = ctx.caller
    if access.is_merchant(caller):
        if str(cmd.get("merchant_id")) != caller.merchant_id:
            raise Forbidden("a merchant may see only its own pairings")
        districts = None
    else:
        districts = access.district_scope(caller)
    rows = storage.list_pairings(
        ctx.session, cmd.get("merchant_id"), cmd.get("person_id"), cmd["include_ended"], districts
    )
    return [{**row, "status": pairings.ENDED if row["ended_on"] else pairings.ACTIVE} for row in rows]


def list_honours(ctx, cmd):
    caller = ctx.caller
    query = paging.query_of(cmd)
    after = paging.decode_cursor(cmd["cursor"], query)
    if access.is_merchant(caller):
        if "merchant_id" in cmd and str(cmd["merchant_id"]) != caller.merchant_id:
            access.require_merchant_access(caller, {"merchant_id": str(cmd["merchant_id"])})
        own, districts = caller.merchant_id, None
    else:
        own, districts = None, access.narrow_districts(caller, None)
    rows = storage.list_honours(ctx.session, cmd, own, districts, after, cmd["limit"] + 1)
    items, next_cursor = paging.page(rows, cmd["limit"], query, key="honour_id")
    return {"items": items, "next_cursor": next_cursor}


def resolve_audience(ctx, cmd):
    """The contacts of an audience, a page at a time, each contact once, in a stable order."""
    session, caller = ctx.session, ctx.caller
    query = {k: (sorted(map(str, v)) if isinstance(v, list) else v) for k, v in paging.query_of(cmd).items()}
    after = paging.decode_cursor(cmd["cursor"], query)
    unknown, cursor_key, within = [], "id", None
    if "districts" in cmd:
        for district in cmd["districts"]:
            caller.require_district(district)
        audience = {"districts": sorted(set(cmd["districts"]))}
        if after is not None:
            after = after.split(" ", 1)
        cursor_key = lambda row: f"{row['district_id']} {row['id']}"  # noqa: E731
    elif "merchant_ids" in cmd or "person_ids" in cmd:
        kind, table = ("merchant_ids", "merchants") if "merchant_ids" in cmd else ("person_ids", "people")
        ids = sorted({str(i) for i in cmd[kind]})
        found = storage.districts_of(session, table, ids)
        access.require_districts(caller, [row["district_id"] for row in found])
        unknown = sorted(set(ids) - {row["id"] for row in found})
        audience = {kind: ids}
    elif "organisation_id" in cmd:
        # An organisation's liaisons (a retired one has none): whom a demand referred to it reaches.
        organisation = load_organisation(session, cmd["organisation_id"])
        if organisation["district_id"] is not None:
            caller.require_district(organisation["district_id"])
        audience = {"organisation_id": organisation["organisation_id"]}
    elif "branch_id" in cmd:
        branch = load_branch(session, cmd["branch_id"])
        caller.require_district(branch["district_id"])
        audience = {"branch_id": branch["id"]}
    else:
        # A role, or a team (the members demands routed to it should reach), in the caller's districts.
        audience = {"team": cmd["team"]} if "team" in cmd else {"role": cmd["role"]}
        within = access.narrow_districts(caller, None)
    rows = storage.contacts(session, audience, after, cmd["limit"] + 1, within=within)
    contacts, next_cursor = paging.page(rows, cmd["limit"], query, key=cursor_key)
    return {"contacts": contacts, "next_cursor": next_cursor, "unknown_ids": unknown}


def stats(ctx):
    counts = storage.counts(ctx.session, access.narrow_districts(ctx.caller, None), today(ctx.now))
    merchants_by_district = {}
    for row in counts["by_district"]:
        merchants_by_district.setdefault(row["district_id"], {})[row["status"]] = row["n"]
    return {
        "as_of": ctx.now,
        "merchants_by_district": merchants_by_district,
        "merchants_by_category": {row["category"]: row["n"] for row in counts["by_category"]},
        "people_by_role": counts["by_role"],
        "honours_by_kind": dict.fromkeys(HONOUR_KINDS, 0) | {row["kind"]: row["n"] for row in counts["by_honour"]},
        "floating_members": counts["floating"]["floating"],
        "floating_members_due_for_transfer": counts["floating"]["due"],
        "transfers_started": counts["transfers"]["started"],
        "transfers_declined": counts["transfers"]["declined"],
    }


def list_transfers(ctx, cmd):
    """Floating members' transfers, newest first, whose member's branch or receiving branch lies in
    the caller's districts; an unknown branch is an error, not an empty page."""
    session = ctx.session
    for field in ("branch_id", "to_branch_id"):
        if field in cmd and storage.party_branch(session, cmd[field]) is None:
            raise ValidationError("unknown branch", {field: [f"no Party branch {cmd[field]!r}"]})
    if "person_id" in cmd:
        load_member(session, cmd["person_id"])
    query = paging.query_of(cmd)
    after = paging.decode_cursor(cmd["cursor"], query)
    if after is not None:
        try:
            at, _, transfer_id = after.partition("|")
            after = (datetime.fromisoformat(at), str(uuid.UUID(transfer_id)))
        except ValueError as exc:
            raise ValidationError("invalid cursor", {"cursor": ["not a cursor this service issued"]}) from exc
    districts = access.narrow_districts(ctx.caller, None)
    rows = storage.list_transfers(session, cmd, districts, after, cmd["limit"] + 1)
    key = lambda row: f"{row['started_at'].isoformat()}|{row['transfer_id']}"  # noqa: E731
    items, next_cursor = paging.page(rows, cmd["limit"], query, key=key)
    return {"items": items, "next_cursor": next_cursor}


def list_systems(ctx, cmd):
    """The internal systems registered (standing ones unless ``include_revoked``), with their limits."""
    found = storage.systems(ctx.session, cmd["include_revoked"])
    return [systems.shown(system) for system in found]


# Points (党员积分) ------------------------------------------------------------------------------


def member_points(ctx, cmd):
    """A member's balance and their entries, newest first: for the member, staff of the district
    of their branch and administrators."""
    caller, session = ctx.caller, ctx.session
    member = load_member(session, cmd["person_id"])
    if caller.subject != member["person_id"]:
        if access.is_merchant(caller):
            raise Forbidden("a merchant reads only its own points")
        caller.require_district(member["branch_district_id"])
    query = paging.query_of(cmd)
    before = paging.decode_cursor(cmd["cursor"], query)
    rows = storage.points_history(session, member["person_id"], before, cmd["limit"] + 1)
    items, next_cursor = paging.page(rows, cmd["limit"], query, key="seq")
    return {
        "person_id": member["person_id"],
        "branch_id": member["branch_id"],
        **storage.points_balance(session, member["person_id"]),
        "items": items,
        "next_cursor": next_cursor,
    }


def rank_points(ctx, cmd):
    """Members by the points they earned in a branch, in districts (the caller's scope unless
    named) and in a period of the alliance's days (``from_date`` to ``to_date``, both included):
    most first, equal points sharing a rank."""
    caller, session = ctx.caller, ctx.session
    points.check_period(cmd["from_date"], cmd["to_date"])
    branch_id = cmd.get("branch_id")
    if branch_id is not None:
        caller.require_district(load_branch(session, branch_id)["district_id"])
    districts = access.narrow_districts(caller, [cmd["district_id"]] if "district_id" in cmd else None)
    rows = storage.points_ranking(
        session,
        branch_id=branch_id,
        districts=districts,
        since=_day_start(cmd["from_date"]),
        until=_day_start(cmd["to_date"] + timedelta(days=1)) if cmd["to_date"] else None,
        limit=cmd["limit"],
    )
    return {
        "branch_id": branch_id,
        "district_id": cmd.get("district_id"),
        "from_date": cmd["from_date"],
        "to_date": cmd["to_date"],
        "items": points.ranked(rows),
    }


def _day_start(day):
    return None if day is None else datetime.combine(day, time(0), CHINA)
