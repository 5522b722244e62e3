"""The registry's commands: one function per command, ``command(ctx, cmd)``.

Each runs in the caller's one transaction (``ctx.session``, with the outbox), decides with the
verified caller (``ctx.caller``) at one instant (``ctx.now``), and applies the rules of
``domain``. A refusal is raised before anything is written or rolls the whole transaction back: a
refused command changes nothing (but for a wrong sign-in code, which counts as a try). Every change
to the register is announced by its event (merchant and person events carry the aggregate's
version) and kept in the history, with who made it.
"""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import structlog

from alliance_platform import delegation
from alliance_platform.errors import Conflict, NotFound, Unauthenticated, ValidationError
from alliance_platform.identity import ALL_DISTRICTS, Identity

from . import storage
from .domain import (
    access,
    changes,
    honours,
    membership,
    merchants,
    organisations,
    pairings,
    people,
    points,
    roster,
    systems,
    transfers,
)
from .domain import sign_in as signing
from .domain.days import today

log = structlog.get_logger("alliance.registry")

# How a sign-in code is sent: the notifications service's template for it, and the category it
# goes by (an essential one: nobody can opt out of it, see notifications' preferences).
SIGN_IN_TEMPLATE = "sign_in_code"
SIGN_IN_CATEGORY = "account_security"  # nobody can opt out of it (notifications)


def load_merchant(session, merchant_id, *, lock=False):
    merchant = storage.merchant(session, merchant_id, lock=lock)
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id}")
    return merchant


def load_person(session, person_id, *, lock=False):
    person = storage.person(session, person_id, lock=lock)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def load_branch(session, branch_id, *, to_join=False):
    """A Party branch of the register; ``to_join``: one a member may join now — active, and held
    (``FOR SHARE``) until commit, so that it cannot be retired with the new member in it."""
    branch = storage.party_branch(session, branch_id, share=to_join)
    if branch is None:
        raise ValidationError("unknown branch", {"branch_id": [f"no Party branch {branch_id!r}"]})
    if to_join and branch["status"] != organisations.ACTIVE:
        raise Conflict(f"Party branch {branch_id} is retired: register the member with another branch")
    return branch


def _check_owner(session, owner_id):
    if owner_id is not None and not storage.person_exists(session, owner_id):
        raise ValidationError("unknown owner", {"owner_id": [f"no person {owner_id}"]})


def _mobile_free(session, mobile):
    if storage.mobile_taken(session, mobile):
        raise Conflict(f"a person with mobile {mobile} is already registered")


def _id_card_free(ctx, number):
    """No one has ``number``, under whichever ID-card key their row is sealed."""
    if number is None:
        return
    vault = ctx.settings.id_cards
    if len(vault.key_ids) > 1:  # mid-rotation: see storage.ID_CARD_WRITE_LOCK
        storage.lock_id_card_writes(ctx.session)
    if storage.id_card_taken(ctx.session, vault.digests(number)):
        raise Conflict("a person with this ID-card number is already registered")


def require_person_access(ctx, person):
    """The caller reaches ``person`` (see ``access.require_person_access``)."""
    access.require_person_access(
        ctx.caller,
        person,
        lambda: storage.owns_merchant(ctx.session, person["person_id"], ctx.caller.merchant_id),
    )


# Organisations (组织联建, domain/organisations.py) -----------------------------------------------


def load_organisation(session, organisation_id, *, lock=False):
    organisation = storage.organisation(session, organisation_id, lock=lock)
    if organisation is None:
        raise NotFound(f"no organisation {organisation_id}")
    return organisation


def _known_parent(session, parent_id):
    if parent_id is None:
        return None
    parent = storage.organisation(session, parent_id)
    if parent is None:
        raise ValidationError("unknown organisation", {"parent_id": [f"no organisation {parent_id!r}"]})
    return parent


def _known_liaisons(session, liaison_ids):
    ids = list(dict.fromkeys(str(i) for i in liaison_ids))
    unknown = [i for i in ids if i not in storage.existing_people(session, ids)]
    if unknown:
        raise ValidationError("unknown liaisons", {"liaison_ids": [f"no person {i}" for i in unknown]})
    return ids


def add_organisation(ctx, cmd):
    """An organisation of the alliance (a department, bank, institution, branch...) with its liaisons."""
    session = ctx.session
    storage.lock_organisation_tree(session)
    if storage.organisation(session, cmd["organisation_id"]) is not None:
        raise Conflict(f"an organisation {cmd['organisation_id']} is already registered")
    parent = _known_parent(session, cmd["parent_id"])
    organisations.check_new(cmd, parent, storage.alliance_exists(session, organisations.ALLIANCE))
    liaisons = _known_liaisons(session, cmd["liaison_ids"])
    storage.insert_organisation(session, {**cmd, "name_en": cmd["name_en"] or cmd["name"]}, ctx.now)
    storage.set_liaisons(session, cmd["organisation_id"], liaisons)
    added = load_organisation(session, cmd["organisation_id"])
    return _announce(ctx, organisations.ADDED, None, added)


def rename_organisation(ctx, cmd):
    """A new name (and short name, English name): events and read models show it from now on."""
    current = load_organisation(ctx.session, cmd["organisation_id"], lock=True)
    changes.check_version("organisation", current, cmd)
    organisations.check_active(current, "be renamed")
    changed = changes.changes(current, {k: cmd[k] for k in ("name", "short_name", "name_en") if k in cmd})
    if not changed:
        return current
    storage.update_organisation(ctx.session, current["organisation_id"], changed, ctx.now)
    return _changed(ctx, organisations.RENAMED, current, cmd.get("reason"))


def move_organisation(ctx, cmd):
    """Put an organisation under another parent (or none); a move that would make a cycle is refused."""
    session = ctx.session
    storage.lock_organisation_tree(session)
    current = load_organisation(session, cmd["organisation_id"], lock=True)
    changes.check_version("organisation", current, cmd)
    parent = _known_parent(session, cmd["parent_id"])
    ancestors = storage.ancestors(session, parent["organisation_id"]) if parent else []
    organisations.check_move(current, parent, ancestors)
    if current["parent_id"] == cmd["parent_id"]:
        return current
    storage.update_organisation(session, current["organisation_id"], {"parent_id": cmd["parent_id"]}, ctx.now)
    return _changed(ctx, organisations.MOVED, current, cmd.get("reason"))


def retire_organisation(ctx, cmd):
    """Retire an organisation nothing needs any more (``domain.organisations``); its liaisons are
    released. It stays in the register (honours, points and history name it)."""
    session = ctx.session
    storage.lock_organisation_tree(session)
    current = load_organisation(session, cmd["organisation_id"], lock=True)
    changes.check_version("organisation", current, cmd)
    organisations.check_retire(current, *storage.organisation_dependants(session, current["organisation_id"]))
    storage.set_liaisons(session, current["organisation_id"], [])
    storage.update_organisation(
        session,
        current["organisation_id"],
        {"status": organisations.RETIRED, "retired_at": ctx.now, "retired_reason": cmd["reason"]},
        ctx.now,
    )
    return _changed(ctx, organisations.RETIRED_CHANGE, current, cmd["reason"])


def set_organisation_liaisons(ctx, cmd):
    """The organisation's contacts, replaced whole (in the order given; an empty list removes them all)."""
    session = ctx.session
    current = load_organisation(session, cmd["organisation_id"], lock=True)
    changes.check_version("organisation", current, cmd)
    organisations.check_active(current, "have liaisons")
    liaisons = _known_liaisons(session, cmd["liaison_ids"])
    if liaisons == current["liaison_ids"]:
        return current
    storage.set_liaisons(session, current["organisation_id"], liaisons)
    storage.update_organisation(session, current["organisation_id"], {}, ctx.now)
    return _changed(ctx, organisations.LIAISONS_CHANGED, current, cmd.get("reason"))


def _changed(ctx, change, before, reason):
    """Reread the organisation after ``change`` (its version one higher), announce and remember it."""
    after = load_organisation(ctx.session, before["organisation_id"])
    return _announce(ctx, change, before, after, reason)


def _announce(ctx, change, before, after, reason=None):
    """Publish the change's event and keep the version in the organisation's history."""
    payload = {**organisations.state(after), "version": after["version"], "changed_at": ctx.now, "reason": reason}
    if change == organisations.RENAMED:
        payload.update(previous_name=before["name"], previous_short_name=before["short_name"])
    elif change == organisations.MOVED:
        payload["previous_parent_id"] = before["parent_id"]
    elif change in (organisations.LIAISONS_CHANGED, organisations.RETIRED_CHANGE):
        added, removed = organisations.liaison_change(before["liaison_ids"], after["liaison_ids"])
        payload.update(added_liaison_ids=added, removed_liaison_ids=removed)
    ctx.session.publish(organisations.EVENTS[change], payload, aggregate_id=after["organisation_id"])
    storage.remember_organisation(
        ctx.session,
        after["version"],
        None if before is None else organisations.state(before),
        organisations.state(after),
        change,
        reason,
        ctx.caller,
        ctx.now,
    )
    log.info("organisation changed", organisation_id=after["organisation_id"], change=change)
    return after


# Merchants --------------------------------------------------------------------------------------


def register_merchant(ctx, cmd):
    session = ctx.session
    ctx.caller.require_district(cmd["district_id"])  # a district the alliance has: the schema saw to it
    if storage.credit_code_taken(session, cmd["credit_code"]):
        raise Conflict(f"a merchant with credit code {cmd['credit_code']} is already registered")
    owner_id = str(cmd["owner_id"]) if cmd["owner_id"] else None
    _check_owner(session, owner_id)
    merchant = storage.insert_merchant(session, {**cmd, "owner_id": owner_id}, ctx.now)
    _announce_merchant_registered(ctx, merchant)
    details = merchants.state(merchant)
    storage.remember(session, "merchant", merchant["merchant_id"], "registered", details, ctx.caller, ctx.now)
    if owner_id:
        refresh_roles(ctx, owner_id)
    return merchant


def _announce_merchant_registered(ctx, merchant):
    ctx.session.publish("merchant_registered", merchant, aggregate_id=merchant["merchant_id"])


def update_merchant(ctx, cmd):
    caller = ctx.caller
    merchant = load_merchant(ctx.session, cmd["merchant_id"], lock=True)
    access.require_merchant_access(caller, merchant)
    changes.check_version("merchant", merchant, cmd)
    requested = {k: v for k, v in cmd.items() if k in merchants.UPDATABLE}
    if "owner_id" in requested:
        requested["owner_id"] = str(requested["owner_id"]) if requested["owner_id"] else None
    merchants.check_self_service(caller, requested)
    changed = changes.changes(merchant, requested)
    if "district_id" in changed:
        caller.require_district(changed["district_id"])
    if "owner_id" in changed:
        _check_owner(ctx.session, changed["owner_id"])
    if not changed:
        return merchant
    return apply_merchant_changes(ctx, merchant, changed)


def apply_merchant_changes(ctx, merchant, changed):
    """Write ``changed`` to a locked merchant, announce it and keep the owners' roles right."""
    updated = storage.update_merchant(ctx.session, merchant["merchant_id"], changed, ctx.now)
    ctx.session.publish(
        "merchant_updated",
        {**updated, "changed": sorted(changed), "updated_at": ctx.now},
        aggregate_id=updated["merchant_id"],
    )
    storage.remember(ctx.session, "merchant", updated["merchant_id"], "updated", changed, ctx.caller, ctx.now)
    if "owner_id" in changed:
        for owner_id in {merchant["owner_id"], updated["owner_id"]} - {None}:
            refresh_roles(ctx, owner_id)
    return updated


def set_merchant_status(ctx, cmd):
    merchant = load_merchant(ctx.session, cmd["merchant_id"], lock=True)
    ctx.caller.require_district(merchant["district_id"])
    merchants.check_status_change(merchant["status"], cmd["status"])
    updated = storage.update_merchant(ctx.session, merchant["merchant_id"], {"status": cmd["status"]}, ctx.now)
    ctx.session.publish(
        "merchant_status_changed",
        {
            "merchant_id": updated["merchant_id"],
            "district_id": updated["district_id"],
            "version": updated["version"],
            "old_status": merchant["status"],
            "status": updated["status"],
            "reason": cmd["reason"],
            "changed_at": ctx.now,
        },
        aggregate_id=updated["merchant_id"],
    )
    details = {"from": merchant["status"], "to": updated["status"], "reason": cmd["reason"]}
    storage.remember(ctx.session, "merchant", updated["merchant_id"], "status_changed", details, ctx.caller, ctx.now)
    return updated


def import_merchants(ctx, cmd):
    """A roster imported whole or not at all, idempotent by credit code (``domain.roster``)."""
    session = ctx.session
    rows = roster.read(cmd["content"], cmd["format"])
    districts = {}
    for district in storage.districts(session):
        districts[district["id"]] = districts[district["name"]] = district["id"]
    valid, errors = roster.check(rows, districts)
    existing = storage.merchants_by_credit_code(session, [row["credit_code"] for _, row in valid])
    owners = storage.people_by_mobile(session, [row["owner_mobile"] for _, row in valid if row["owner_mobile"]])
    plan = roster.plan(ctx.caller, rows, (valid, errors), existing, owners)
    report = roster.report(plan, rows, cmd["dry_run"])
    if cmd["dry_run"]:
        return report
    # People already registered who now own a new merchant gain the merchant-owner role.
    promoted = {owners[row["owner_mobile"]]["id"] for row in plan["create"] if row["owner_mobile"] in owners}
    owners.update(_register_owners(ctx, list(plan["new_owners"].values())))
    created = storage.insert_merchants(
        session,
        [
            {**row, "owner_id": owners[row["owner_mobile"]]["id"] if row["owner_mobile"] else None}
            for row in plan["create"]
        ],
        ctx.now,
    )
    for merchant in created:
        _announce_merchant_registered(ctx, merchant)
    storage.remember_many(
        session,
        [("merchant", m["merchant_id"], "registered", {**merchants.state(m), "source": "import"}) for m in created],
        ctx.caller,
        ctx.now,
    )
    for owner_id in sorted(promoted):
        refresh_roles(ctx, owner_id)
    for current, row in plan["update"]:
        locked = load_merchant(session, current["merchant_id"], lock=True)
        apply_merchant_changes(ctx, locked, roster.differences(locked, row, owners))
    return report


def _register_owners(ctx, rows):
    """New owners of an import, each registered as a person with the merchant-owner role; {mobile: person}."""
    registered = {}
    for row in rows:
        person = _insert_person(ctx, roster.new_owner(row))
        _announce_person_registered(ctx, person)
        registered[person["mobile"]] = {"id": person["person_id"], "name": person["name"], "mobile": person["mobile"]}
    storage.remember_many(
        ctx.session,
        [
            ("person", p["id"], "registered", {"name": p["name"], "mobile": p["mobile"], "source": "import"})
            for p in registered.values()
        ],
        ctx.caller,
        ctx.now,
    )
    return registered


# People -----------------------------------------------------------------------------------------


def register_person(ctx, cmd):
    ctx.caller.require_district(cmd["district_id"])  # a district the alliance has: the schema saw to it
    _mobile_free(ctx.session, cmd["mobile"])
    _id_card_free(ctx, cmd["id_card_no"])
    person = _insert_person(
        ctx, {**cmd, "roles": people.ordered_roles(cmd["roles"]), "teams": people.teams(cmd["teams"])}
    )
    _announce_person_registered(ctx, person)
    details = {k: person[k] for k in people.REGISTERED_DETAILS}
    storage.remember(ctx.session, "person", person["person_id"], "registered", details, ctx.caller, ctx.now)
    return people.shown(person)


def _insert_person(ctx, fields):
    id_card_columns = ctx.settings.id_cards.columns(fields.get("id_card_no"))
    return storage.insert_person(ctx.session, fields, id_card_columns, ctx.now)


def _announce_person_registered(ctx, person):
    ctx.session.publish(
        "person_registered",
        {**people.event_state(person), "registered_at": ctx.now},
        aggregate_id=person["person_id"],
    )


def update_person(ctx, cmd):
    session, caller, vault = ctx.session, ctx.caller, ctx.settings.id_cards
    person = load_person(session, cmd["person_id"], lock=True)
    require_person_access(ctx, person)
    changes.check_version("person", person, cmd)
    requested = {k: v for k, v in cmd.items() if k in people.UPDATABLE}
    people.check_self_service(caller, cmd)
    if "roles" in cmd:
        requested["roles"] = people.roles_after_update(person["roles"], cmd["roles"])
    if "teams" in cmd:
        requested["teams"] = people.teams(cmd["teams"])
    changed = changes.changes(person, requested)
    if "district_id" in changed:
        caller.require_district(changed["district_id"])
    if "mobile" in changed:
        _mobile_free(session, changed["mobile"])
    columns = dict(changed)
    if "id_card_no" in cmd:
        number = cmd["id_card_no"]
        if not vault.matches(number, *storage.id_card_digest(session, person["person_id"])):
            _id_card_free(ctx, number)
            columns.update(vault.columns(number))
            changed["id_card_no"] = "changed" if number else "removed"  # never the number in the history
    if not changed:
        return people.shown(person)
    return people.shown(_apply_person_changes(ctx, person["person_id"], columns, changed))


def _apply_person_changes(ctx, person_id, columns, details):
    """Write ``columns`` to a locked person and announce the change (``details`` for the history)."""
    person = storage.update_person(ctx.session, person_id, columns, ctx.now)
    ctx.session.publish(
        "person_updated",
        {**people.event_state(person), "changed": sorted(details), "updated_at": ctx.now},
        aggregate_id=person_id,
    )
    storage.remember(ctx.session, "person", person_id, "updated", details, ctx.caller, ctx.now)
    return person


def refresh_roles(ctx, person_id):
    """Bring the roles the register implies (merchant owner, Party member) in line with the facts."""
    facts = storage.role_facts(ctx.session, person_id)
    roles = people.implied_roles(facts["roles"], facts["owner"], facts["member"])
    if roles != facts["roles"]:
        _apply_person_changes(ctx, str(person_id), {"roles": roles}, {"roles": roles})


# Party members ----------------------------------------------------------------------------------


def register_party_member(ctx, cmd):
    session = ctx.session
    person = load_person(session, cmd["person_id"], lock=True)
    branch = load_branch(session, cmd["branch_id"], to_join=True)
    ctx.caller.require_district(branch["district_id"])
    on_day = today(ctx.now)
    member = membership.new_member(person["person_id"], branch, cmd, ctx.now, on_day)
    if storage.is_party_member(session, person["person_id"]):
        raise Conflict(f"{person['person_id']} is already registered as a Party member")
    storage.insert_party_member(session, member)
    session.publish("party_member_registered", member, aggregate_id=person["person_id"])
    details = {k: v for k, v in member.items() if k not in ("person_id", "registered_at")}
    storage.remember(session, "person", person["person_id"], "party_member_registered", details, ctx.caller, ctx.now)
    refresh_roles(ctx, person["person_id"])
    return {**member, "party_age": membership.party_age(member["joined_on"], on_day)}


def record_transfer_in(ctx, cmd):
    """The transfer in, recorded in one step (released 1.0.0): completes the member's open transfer
    (the membership moves to its receiving branch), or records a completed one to the member's branch."""
    session = ctx.session
    member = storage.party_member(session, cmd["person_id"], lock=True)
    if member is None:
        raise NotFound(f"{cmd['person_id']} is not a registered Party member")
    ctx.caller.require_district(member["branch_district_id"])
    on_day = today(ctx.now)
    transferred_on = membership.transferred_on(member, cmd["transferred_on"], on_day)
    started = storage.open_transfer(session, member["person_id"])
    if started is not None:
        day = transfers.completed_on(started, transferred_on, on_day)
        done = _complete(ctx, member, started, day)
    else:
        done = storage.insert_transfer(
            session,
            {
                "person_id": member["person_id"],
                "from_branch_id": member["branch_id"],
                "to_branch_id": member["branch_id"],
                "status": transfers.COMPLETED,
                "started_on": transferred_on,
                "completed_on": transferred_on,
            },
            ctx.caller,
            ctx.now,
        )
        storage.move_membership(session, member["person_id"], member["branch_id"], transferred_on)
        _announce_transfer(ctx, "floating_member_transferred_in", member, done, via=transfers.VIA_DIRECT)
    details = {"branch_id": done["to_branch_id"], "transferred_on": transferred_on, "transfer_id": done["transfer_id"]}
    storage.remember(session, "person", member["person_id"], "transferred_in", details, ctx.caller, ctx.now)
    moved = storage.party_member(session, member["person_id"])
    return {**moved, "person_id": member["person_id"]}


def _load_transfer(ctx, transfer_id):
    """A transfer with its member, both locked (the member first, as record_transfer_in and
    start_transfer lock them: no deadlock between them), for a caller of either branch's district."""
    found = storage.transfer(ctx.session, transfer_id)
    if found is None:
        raise NotFound(f"no transfer {transfer_id}")
    access.require_districts_any(ctx.caller, (found["from_district_id"], found["to_district_id"]))
    member = storage.party_member(ctx.session, found["person_id"], lock=True)
    return storage.transfer(ctx.session, transfer_id, lock=True), member


def start_transfer(ctx, cmd):
    """Start a floating member's transfer to a receiving Party branch (the local one by default)."""
    session = ctx.session
    member = load_member(session, cmd["person_id"], lock=True)
    ctx.caller.require_district(member["branch_district_id"])
    on_day = today(ctx.now)
    transfers.check_can_start(member, storage.open_transfer(session, member["person_id"]))
    branch = load_branch(session, cmd["to_branch_id"] or member["branch_id"], to_join=True)
    started = storage.insert_transfer(
        session,
        {
            "person_id": member["person_id"],
            "from_branch_id": member["branch_id"],
            "to_branch_id": branch["id"],
            "status": transfers.STARTED,
            "started_on": transfers.started_on(member, cmd["started_on"], on_day),
            "letter_no": cmd["letter_no"],
            "note": cmd["note"],
        },
        ctx.caller,
        ctx.now,
    )
    _announce_transfer(ctx, "floating_member_transfer_started", member, started)
    details = {k: started[k] for k in ("transfer_id", "to_branch_id", "started_on", "letter_no")}
    storage.remember(session, "person", member["person_id"], "transfer_started", details, ctx.caller, ctx.now)
    return started


def complete_transfer(ctx, cmd):
    """The transfer completed: the membership moves to the receiving branch on the day given."""
    started, member = _load_transfer(ctx, cmd["transfer_id"])
    transfers.check_open(started, "be completed")
    day = transfers.completed_on(started, cmd["completed_on"], today(ctx.now))
    load_branch(ctx.session, started["to_branch_id"], to_join=True)
    done = _complete(ctx, member, started, day)
    details = {"branch_id": done["to_branch_id"], "transferred_on": day, "transfer_id": done["transfer_id"]}
    storage.remember(ctx.session, "person", member["person_id"], "transferred_in", details, ctx.caller, ctx.now)
    return done


def _complete(ctx, member, started, day):
    done = storage.close_transfer(
        ctx.session, started["transfer_id"], {"status": transfers.COMPLETED, "completed_on": day}, ctx.caller, ctx.now
    )
    storage.move_membership(ctx.session, member["person_id"], done["to_branch_id"], day)
    _announce_transfer(ctx, "floating_member_transferred_in", member, done, via=transfers.VIA_WORKFLOW)
    return done


def decline_transfer(ctx, cmd):
    """The transfer declined, with a reason of the closed list: the membership stays where it is."""
    started, member = _load_transfer(ctx, cmd["transfer_id"])
    transfers.check_open(started, "be declined")
    transfers.check_decline(cmd["reason"], cmd["note"])
    columns = {"status": transfers.DECLINED, "decline_reason": cmd["reason"], "decline_note": cmd["note"]}
    declined = storage.close_transfer(ctx.session, started["transfer_id"], columns, ctx.caller, ctx.now)
    _announce_transfer(ctx, "floating_member_transfer_declined", member, declined)
    details = {"transfer_id": declined["transfer_id"], "reason": cmd["reason"], "note": cmd["note"]}
    storage.remember(ctx.session, "person", member["person_id"], "transfer_declined", details, ctx.caller, ctx.now)
    return declined


def _announce_transfer(ctx, event_type, member, transfer, **extra):
    """A transfer's event: ``district_id`` is the receiving branch's (whose secretary is told)."""
    payload = {
        "transfer_id": transfer["transfer_id"],
        "person_id": member["person_id"],
        "from_branch_id": transfer["from_branch_id"],
        "from_district_id": transfer["from_district_id"],
        "to_branch_id": transfer["to_branch_id"],
        "district_id": transfer["to_district_id"],
        "home_organisation": member["home_organisation"],
        "home_province": member["home_province"],
        "started_on": transfer["started_on"],
        "letter_no": transfer["letter_no"],
    }
    if event_type == "floating_member_transferred_in":
        payload.update(transferred_on=transfer["completed_on"], via=extra["via"])
    elif event_type == "floating_member_transfer_declined":
        payload.update(reason=transfer["decline_reason"], note=transfer["decline_note"], declined_at=ctx.now)
    else:
        payload["started_at"] = transfer["started_at"]
    ctx.session.publish(event_type, payload, aggregate_id=member["person_id"])
    log.info("transfer announced", event_type=event_type, transfer_id=transfer["transfer_id"])


def announce_transfer_due(ctx, member):
    """Announce that a floating member claimed by the transfer check is due to transfer in."""
    ctx.session.publish("floating_member_transfer_due", member, aggregate_id=member["person_id"])
    storage.remember(ctx.session, "person", member["person_id"], "transfer_due_announced", {}, ctx.caller, ctx.now)


# Honours ----------------------------------------------------------------------------------------


def award_honour(ctx, cmd):
    session = ctx.session
    merchant = load_merchant(session, cmd["merchant_id"], lock=True)
    ctx.caller.require_district(merchant["district_id"])
    honours.check_honour(cmd["kind"], cmd["stars"], cmd["year"])
    awarded_by = storage.organisation(session, cmd["awarded_by"])
    if awarded_by is None:
        raise ValidationError("unknown organisation", {"awarded_by": [f"no organisation {cmd['awarded_by']!r}"]})
    organisations.check_active(awarded_by, "award honours")
    merchants.check_open(merchant, "honoured")
    honours.check_owner_is_member(
        merchant["owner_id"] is not None and storage.is_party_member(session, merchant["owner_id"])
    )
    standing = storage.standing_honour(session, merchant["merchant_id"], cmd["kind"], cmd["year"])
    if standing:
        raise Conflict(f"the merchant already holds this honour ({standing})")
    honour = storage.insert_honour(
        session,
        {**cmd, "merchant_id": merchant["merchant_id"], "awarded_on": cmd["awarded_on"] or today(ctx.now)},
        ctx.now,
    )
    session.publish("honour_awarded", honour, aggregate_id=merchant["merchant_id"])
    details = {k: honour[k] for k in ("honour_id", "kind", "year", "stars", "reason", "awarded_by", "awarded_on")}
    storage.remember(session, "merchant", merchant["merchant_id"], "honour_awarded", details, ctx.caller, ctx.now)
    return honour


def revoke_honour(ctx, cmd):
    session = ctx.session
    honour = storage.honour(session, cmd["honour_id"])
    if honour is None:
        raise NotFound(f"no honour {cmd['honour_id']}")
    load_merchant(session, honour["merchant_id"], lock=True)  # the merchant's events stay in order
    ctx.caller.require_district(honour["district_id"])
    if not storage.revoke_honour(session, honour["honour_id"], cmd["reason"], ctx.now):
        raise Conflict(f"honour {honour['honour_id']} was already revoked")
    honour = {**honour, "revoked_at": ctx.now, "revoked_reason": cmd["reason"]}
    session.publish("honour_revoked", {**honour, "reason": cmd["reason"]}, aggregate_id=honour["merchant_id"])
    details = {"honour_id": honour["honour_id"], "kind": honour["kind"], "reason": cmd["reason"]}
    storage.remember(session, "merchant", honour["merchant_id"], "honour_revoked", details, ctx.caller, ctx.now)
    return honour


def award_evaluation_winners(ctx, event):
    """Honour the winners an evaluation (评选) of the events service named, in rank order.

    Each award is ``award_honour`` in its own savepoint: a winner the register cannot honour (its
    owner is no Party member, it closed meanwhile, it already holds the honour) is reported and
    skipped, and the others are honoured. The history names the evaluation and who closed it.
    """
    result = event.payload
    judge = Identity(
        f"evaluation {result['activity_id']} closed by {event.actor or 'events'}",
        "system",
        roles=frozenset({"system"}),
        districts=frozenset({ALL_DISTRICTS}),
    )
    judged = replace(ctx, caller=judge)
    outcome = {"awarded": [], "skipped": []}
    for winner in result["winners"]:
        cmd = {
            "merchant_id": winner["merchant_id"],
            "kind": result["kind"],
            "year": result["year"],
            "stars": result["stars"],
            "reason": honours.evaluation_reason(result, winner),
            "awarded_by": organisations.ALLIANCE,
            "awarded_on": None,
        }
        try:
            with storage.savepoint(ctx.session):
                outcome["awarded"].append(award_honour(judged, cmd)["honour_id"])
        except (ValidationError, Conflict, NotFound) as refusal:
            log.warning("evaluation winner not honoured", merchant_id=winner["merchant_id"], reason=str(refusal))
            outcome["skipped"].append({"merchant_id": winner["merchant_id"], "reason": str(refusal)})
    return outcome


# Pairings ---------------------------------------------------------------------------------------


def start_pairing(ctx, cmd):
    session = ctx.session
    merchant = load_merchant(session, cmd["merchant_id"], lock=True)
    ctx.caller.require_district(merchant["district_id"])
    person_id = str(cmd["person_id"])
    if not storage.person_exists(session, person_id):
        raise NotFound(f"no person {person_id}")
    if not storage.is_party_member(session, person_id):
        raise ValidationError("not a Party member", {"person_id": ["only a registered Party member is paired"]})
    merchants.check_open(merchant, "paired")
    started_on = pairings.started_on(cmd["started_on"], today(ctx.now))
    if storage.paired(session, person_id, merchant["merchant_id"]):
        raise Conflict("this Party member is already paired with this merchant")
    pairing = storage.insert_pairing(session, person_id, merchant["merchant_id"], started_on, cmd["note"])
    session.publish("pairing_started", pairing, aggregate_id=merchant["merchant_id"])
    details = {"pairing_id": pairing["pairing_id"], "person_id": person_id, "started_on": started_on}
    storage.remember(session, "merchant", merchant["merchant_id"], "pairing_started", details, ctx.caller, ctx.now)
    return {**pairing, "status": pairings.ACTIVE}


def end_pairing(ctx, cmd):
    session = ctx.session
    pairing = storage.pairing(session, cmd["pairing_id"])
    if pairing is None:
        raise NotFound(f"no pairing {cmd['pairing_id']}")
    load_merchant(session, pairing["merchant_id"], lock=True)
    ctx.caller.require_district(pairing["district_id"])
    if pairing["ended_on"] is not None:
        raise Conflict(f"the pairing already ended on {pairing['ended_on']}")
    ended_on = pairings.ended_on(pairing, cmd["ended_on"], today(ctx.now))
    storage.end_pairing(session, pairing["pairing_id"], ended_on, cmd["reason"])
    pairing = {**pairing, "ended_on": ended_on, "end_reason": cmd["reason"]}
    ended = {**pairing, "reason": cmd["reason"]}
    event_id = session.publish("pairing_ended", ended, aggregate_id=pairing["merchant_id"])
    details = {"pairing_id": pairing["pairing_id"], "ended_on": ended_on, "reason": cmd["reason"]}
    storage.remember(session, "merchant", pairing["merchant_id"], "pairing_ended", details, ctx.caller, ctx.now)
    _award_points(ctx, points.PAIRING_ENDED, event_id, ended, ctx.caller)
    return {**pairing, "status": pairings.ENDED}


# Points (党员积分, domain/points.py) ----------------------------------------------------------


def load_member(session, person_id, *, lock=False):
    """A registered Party member with their branch's district (NotFound for anyone else)."""
    member = storage.party_member(session, person_id, lock=lock)
    if member is None:
        if not storage.person_exists(session, person_id):
            raise NotFound(f"no person {person_id}")
        raise NotFound(f"{person_id} is not a registered Party member")
    return member


def record_points(ctx, cmd):
    """An administrator's entry in a member's ledger, with its reason; with ``corrects``, a
    correction of one of the member's entries (the corrected entry stays as it was)."""
    session = ctx.session
    member = load_member(session, cmd["person_id"], lock=True)
    corrected = None
    if cmd["corrects"] is not None:
        corrected = storage.points_entry(session, cmd["corrects"])
        if corrected is None:
            raise NotFound(f"no points entry {cmd['corrects']}")
        points.check_correction(corrected, member["person_id"])
    entry = {
        "points": cmd["points"],
        "kind": points.CORRECTION if corrected else points.MANUAL,
        "rule": None,
        "source": points.MANUAL_SOURCE,
        "source_event_id": None,
        "source_entity_id": None,
        "reason": cmd["reason"],
        "corrects_id": corrected["entry_id"] if corrected else None,
        "award_key": None,
    }
    return _record_points(ctx, member, entry, ctx.caller)


def award_points(ctx, event):
    """The points another service's fact gives by the rules of ``POINTS_RULES``: one entry per rule,
    member and thing rewarded, however often the fact arrives. A person the fact names who is no
    Party member of the register (or no id of the register at all) gets nothing."""
    source = f"{event.source}.{event.event_type}"
    caller = Identity(
        f"event {source} {event.event_id}", "system", roles=frozenset({"system"}), districts=frozenset({ALL_DISTRICTS})
    )
    return _award_points(ctx, source, event.event_id, event.payload, caller, actor=f"event:{source}")


def _award_points(ctx, source, event_id, payload, caller, actor=None):
    outcome = {"recorded": [], "skipped": []}
    for award in ctx.settings.points.awards(source, payload):
        member = _known_member(ctx.session, award.person_id)
        entry = None
        if member is not None:
            entry = _record_points(
                ctx,
                member,
                {
                    "points": award.points,
                    "kind": points.AWARD,
                    "rule": award.rule,
                    "source": source,
                    "source_event_id": event_id,
                    "source_entity_id": award.entity_id,
                    "reason": award.reason,
                    "corrects_id": None,
                    "award_key": points.award_key(award),
                },
                caller,
                actor,
            )
        if entry is None:
            why = "already awarded" if member is not None else "not a registered Party member"
            outcome["skipped"].append({"rule": award.rule, "person_id": award.person_id, "reason": why})
        else:
            outcome["recorded"].append(entry["entry_id"])
    return outcome


def _known_member(session, person_id):
    """The Party member ``person_id`` names, locked; None if it names none (or is no id of ours)."""
    try:
        uuid.UUID(str(person_id))
    except ValueError:
        return None
    return storage.party_member(session, person_id, lock=True)


def _record_points(ctx, member, fields, caller, actor=None):
    """Add an entry to a locked member's ledger, announce it and keep it in the member's history;
    None if it is an award given already."""
    session = ctx.session
    entry = storage.insert_points_entry(
        session,
        {
            **fields,
            "person_id": member["person_id"],
            "branch_id": member["branch_id"],
            "district_id": member["branch_district_id"],
            "created_at": ctx.now,
            "actor": actor or f"{caller.kind}:{caller.subject}",
        },
    )
    if entry is None:
        return None
    recorded = {**entry, "balance": storage.points_balance(session, member["person_id"])["balance"]}
    session.publish("points_recorded", points.announced(recorded), aggregate_id=member["person_id"])
    details = {k: recorded[k] for k in points.HISTORY_DETAILS}
    storage.remember(session, "person", member["person_id"], "points_recorded", details, caller, ctx.now)
    return recorded


# Signing in -------------------------------------------------------------------------------------


def request_sign_in_code(ctx, cmd, send):
    """Make a one-time code for ``mobile`` and send it, if it is the mobile of a person who may
    sign in, through ``send`` (``notifications.send``: by SMS and to the inbox). The answer is the
    same whoever the mobile belongs to; only the limits refuse (``domain.sign_in``).

    The code is sent before this transaction commits: a send that fails refuses the request and
    keeps nothing (ask again), and a commit that fails after it leaves a code nobody can use.
    """
    session, rules, now = ctx.session, ctx.settings.sign_in, ctx.now
    mobile, client = cmd["mobile"], cmd["client"]
    storage.lock_sign_in_requests(session, mobile, client)
    by_mobile, by_client = storage.sign_in_requests(
        session, mobile, now - rules.mobile_window(), client, now - rules.client_window()
    )
    wait = max(
        signing.wait_for_another(by_mobile, rules.per_mobile, now, pause=rules.resend_after),
        signing.wait_for_another(by_client, rules.per_client, now) if client is not None else 0,
    )
    if wait:
        raise Conflict(signing.too_many(wait))
    person = storage.person_by_mobile(session, mobile)
    reached = person if signing.may_sign_in(person) else None
    code, salt = signing.new_code(), signing.new_salt()
    storage.replace_sign_in_code(
        session,
        {
            "mobile": mobile,
            "client": client,
            "person_id": reached["person_id"] if reached else None,
            "code_digest": rules.digest(mobile, code, salt),
            "salt": salt,
            "expires_at": now + timedelta(seconds=rules.code_ttl),
        },
        now,
    )
    if reached is not None:
        send(
            idempotency_key=f"sign-in-code:{uuid.uuid4()}",
            person_ids=[reached["person_id"]],
            template=SIGN_IN_TEMPLATE,
            variables={"code": code, "minutes": rules.code_minutes},
            category=SIGN_IN_CATEGORY,
            urgency="urgent",  # not held back by quiet hours: the person is waiting for it
            channels=["sms", "inbox"],
        )
        log.info("sign-in code sent", person_id=reached["person_id"])
    return {"sent": True, "expires_in_seconds": rules.code_ttl, "resend_after_seconds": rules.resend_after}


def sign_in(ctx, cmd):
    """The token of the person whose mobile got ``code``; every refusal is ``Unauthenticated``.

    A wrong code counts as a try, and the refusal must not undo that: the count is committed
    before the refusal is raised (the transaction then has nothing more to roll back). Nothing
    else a refusal finds changes anything.
    """
    session, rules = ctx.session, ctx.settings.sign_in
    mobile = cmd["mobile"]
    code = storage.sign_in_code(session, mobile)
    why = signing.refusal(code, ctx.now, rules.max_tries)
    if why is not None:
        raise Unauthenticated(why)
    if not rules.matches(code["code_digest"], mobile, cmd["code"], code["salt"]):
        storage.count_wrong_try(session, mobile)
        session.commit()
        raise Unauthenticated(signing.wrong_code(rules.max_tries - code["tries"] - 1))
    person = storage.person(session, code["person_id"]) if code["person_id"] else None
    if not signing.may_sign_in(person) or person["mobile"] != mobile:  # no longer (or never) theirs
        raise Unauthenticated("this mobile may not sign in to the console")
    storage.use_sign_in_code(session, mobile, ctx.now)
    # Tokens are checked by every service against the real time, so it is minted on the real time
    # (not ctx.now, which tests move): its lifetime is the token service's, not a domain rule.
    tokens = ctx.settings.tokens
    token = tokens.issue(**signing.token_claims(person), ttl=rules.token_ttl)
    identity = tokens.verify(token)
    log.info("signed in", person_id=person["person_id"], roles=sorted(identity.roles))
    return {
        "token": token,
        "expires_at": datetime.fromtimestamp(identity.expires_at, UTC),
        "person_id": person["person_id"],
        "name": person["name"],
        "roles": sorted(identity.roles),
        "districts": sorted(identity.districts),
    }


# Internal systems and delegation (domain/systems.py, docs/contract/DELEGATION.md) ---------------


def load_system(session, system_id, *, lock=False):
    system = storage.system(session, system_id, lock=lock)
    if system is None:
        raise NotFound(f"no internal system {system_id}")
    return system


def register_system(ctx, cmd):
    """Register an internal system with its limits; the answer holds its credential, shown this once."""
    limits = systems.limits(cmd)
    if storage.system_name_taken(ctx.session, limits["name"]):
        raise Conflict(f"an internal system named {limits['name']} is registered already; revoke it first")
    credential = systems.new_credential()
    system = storage.insert_system(ctx.session, limits, systems.digest(credential), ctx.caller, ctx.now)
    storage.remember(ctx.session, "system", system["system_id"], "registered", limits, ctx.caller, ctx.now)
    log.info("internal system registered", system_id=system["system_id"], name=system["name"])
    return {**systems.shown(system), "credential": credential}


def rotate_system_credential(ctx, cmd):
    """A new credential for a standing system; the old one exchanges nothing from now on (tokens
    obtained with it stay valid until they expire: revoke the system to end those too)."""
    system = load_system(ctx.session, cmd["system_id"], lock=True)
    if system["revoked_at"] is not None:
        raise Conflict(f"internal system {system['name']} was revoked; register it again")
    credential = systems.new_credential()
    system = storage.replace_system_credential(ctx.session, system["system_id"], systems.digest(credential), ctx.now)
    storage.remember(ctx.session, "system", system["system_id"], "credential_rotated", {}, ctx.caller, ctx.now)
    log.info("internal system credential rotated", system_id=system["system_id"], name=system["name"])
    return {**systems.shown(system), "credential": credential}


def revoke_system(ctx, cmd):
    """End a system's access: its credential exchanges nothing, and every service refuses the tokens
    it obtained, from this commit on (``system_access_revoked``; alliance_platform/delegation.py)."""
    system = load_system(ctx.session, cmd["system_id"], lock=True)
    if system["revoked_at"] is not None:
        raise Conflict(f"internal system {system['name']} was revoked already on {system['revoked_at']:%Y-%m-%d}")
    system = storage.revoke_system(ctx.session, system["system_id"], cmd["reason"], ctx.caller, ctx.now)
    # The registry refuses the tokens at once, without waiting for its own event to come back.
    delegation.record_revocation(ctx.session, system["system_id"], ctx.now)
    ctx.session.publish(
        "system_access_revoked",
        {"system_id": system["system_id"], "name": system["name"], "reason": cmd["reason"], "revoked_at": ctx.now},
        aggregate_id=system["system_id"],
    )
    details = {"reason": cmd["reason"]}
    storage.remember(ctx.session, "system", system["system_id"], "revoked", details, ctx.caller, ctx.now)
    log.info("internal system revoked", system_id=system["system_id"], name=system["name"])
    return systems.shown(system)


def exchange_token(ctx, cmd):
    """RFC 8693 token exchange: a system's credential and the person it acts for (a merchant, or a
    staff member) for a short-lived token of that person within the system's limits.

    A credential that is unknown, rotated away or of a revoked system is ``Unauthenticated``; a
    person outside the system's limits (kind, district, roles) ``Forbidden``; a merchant not active
    or without owner, a person no longer staff ``Conflict``; nobody of that id ``NotFound``.
    """
    session = ctx.session
    system = storage.system_by_credential(session, systems.digest(cmd["credential"]))
    if not systems.check_standing(system):
        raise Unauthenticated("unknown or revoked system credential")
    ttl = systems.check_ttl(system, cmd.get("ttl"))
    if cmd.get("merchant_id") is not None:
        merchant = load_merchant(session, cmd["merchant_id"])
        owner = storage.person(session, merchant["owner_id"]) if merchant["owner_id"] else None
        claims = systems.merchant_claims(system, merchant, owner)
    else:
        claims = systems.staff_claims(system, load_person(session, cmd["person_id"]))
    # Minted on the real time, as sign_in's: every service checks its expiry against the real time.
    tokens = ctx.settings.tokens
    token = tokens.issue(**claims, ttl=ttl)
    identity = tokens.verify(token)
    log.info(
        "token exchanged",
        system_id=system["system_id"],
        system=system["name"],
        on_behalf_of=identity.on_behalf_of,
        merchant_id=identity.merchant_id,
        ttl=ttl,
    )
    return {
        "token": token,
        "token_type": "Bearer",
        "issued_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "expires_in": ttl,
        "expires_at": datetime.fromtimestamp(identity.expires_at, UTC),
        "kind": identity.kind,
        "subject": identity.subject,
        "merchant_id": identity.merchant_id,
        "roles": sorted(identity.roles),
        "districts": sorted(identity.districts),
        "grants": sorted(identity.grants or ()),
        "actor": identity.actor,
        "delegation": identity.delegation,
    }
