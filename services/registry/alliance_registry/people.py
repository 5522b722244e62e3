"""People and Party members: registration, changes, reading, search, floating-member transfers."""

from alliance_contracts.registry import PERSON_ROLES
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError

from . import domain
from .records import history, json_ready, remember
from .schemas import ASSIGNED_ROLES

COLUMNS = (
    "p.id::text AS person_id, p.name, p.mobile, p.id_card_masked, p.roles, p.skills, p.teams, p.language,"
    " p.district_id, p.version, p.created_at AS registered_at, p.updated_at"
)
MEMBER_COLUMNS = (
    "pm.branch_id, o.district_id AS branch_district_id, pm.joined_on, pm.membership, pm.floating,"
    " pm.home_organisation, pm.home_province, pm.activity_card_no, pm.activity_card_issued_on, pm.arrived_on,"
    " pm.transfer_due_on, pm.transferred_in_on"
)
# What a person may change in their own record (a merchant's owner acting for themself).
SELF_SERVICE = {"name", "mobile", "skills", "language"}
# Announcements of due transfers made per timer run; the rest wait for the next run.
TRANSFER_BATCH = 500


def _ordered_roles(roles):
    return sorted(set(roles), key=PERSON_ROLES.index)


def _mobile_free(session, mobile):
    if session.fetchone("SELECT 1 FROM people WHERE mobile = %s", (mobile,)):
        raise Conflict(f"a person with mobile {mobile} is already registered")


def _id_card_free(session, vault, number):
    if number is not None and session.fetchone(
        "SELECT 1 FROM people WHERE id_card_digest = %s", (vault.digest(number),)
    ):
        raise Conflict("a person with this ID-card number is already registered")


def load(session, person_id, *, lock=False):
    person = session.fetchone(
        f"SELECT {COLUMNS} FROM people p WHERE p.id = %s" + (" FOR UPDATE" if lock else ""), (str(person_id),)
    )
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def event_state(person):
    return {**person, "has_id_card": person["id_card_masked"] is not None}


def require_person_access(session, caller, person):
    """A merchant reaches its owner's record (or its own person); others, their districts."""
    if caller.kind == "merchant":
        own = caller.subject == person["person_id"] or (
            caller.merchant_id is not None
            and session.fetchone(
                "SELECT 1 FROM merchants WHERE id = %s AND owner_id = %s", (caller.merchant_id, person["person_id"])
            )
        )
        if not own:
            raise Forbidden("a merchant may reach only its own owner's record")
    elif not caller.is_admin:
        caller.require_district(person["district_id"])


def public(person, id_card_no=None):
    """A person as callers see it: the ID-card number masked unless ``id_card_no`` is given."""
    shown = {k: v for k, v in person.items() if k != "id_card_masked"}
    shown["id_card_no"] = id_card_no or person["id_card_masked"]
    return json_ready(shown)


def register_person(session, caller, cmd, now, vault):
    caller.require_district(cmd["district_id"])  # a district the alliance has: the schema saw to it
    _mobile_free(session, cmd["mobile"])
    _id_card_free(session, vault, cmd["id_card_no"])
    person = insert_person(
        session, {**cmd, "roles": _ordered_roles(cmd["roles"]), "teams": sorted(set(cmd["teams"]))}, now, vault
    )
    announce_registered(session, person, caller, now)
    return public(person)


def insert_person(session, person, now, vault):
    return session.fetchone(
        "INSERT INTO people AS p (name, mobile, id_card_sealed, id_card_digest, id_card_masked, roles, skills,"
        " teams, language, district_id, created_at, updated_at) VALUES (%(name)s, %(mobile)s, %(id_card_sealed)s,"
        " %(id_card_digest)s, %(id_card_masked)s, %(roles)s, %(skills)s, %(teams)s, %(language)s, %(district_id)s,"
        f" %(now)s, %(now)s) RETURNING {COLUMNS}",
        {"teams": [], **person, **vault.columns(person.get("id_card_no")), "now": now},
    )


def announce_registered(session, person, caller, now):
    session.publish(
        "person_registered", {**event_state(person), "registered_at": now}, aggregate_id=person["person_id"]
    )
    details = {k: person[k] for k in ("name", "mobile", "roles", "skills", "teams", "language", "district_id")}
    remember(session, "person", person["person_id"], "registered", details, caller, now)


def update_person(session, caller, cmd, now, vault):
    person = load(session, cmd["person_id"], lock=True)
    require_person_access(session, caller, person)
    if "expected_version" in cmd and cmd["expected_version"] != person["version"]:
        raise Conflict(f"the person is at version {person['version']}, not {cmd['expected_version']}")
    requested = {k: v for k, v in cmd.items() if k in ("name", "mobile", "skills", "language", "district_id")}
    if caller.kind == "merchant" and (set(cmd) & {"roles", "teams", "district_id", "id_card_no"}):
        raise Forbidden(f"a merchant may change only {', '.join(sorted(SELF_SERVICE))}")
    if "roles" in cmd:
        managed = set(person["roles"]) - set(ASSIGNED_ROLES)
        requested["roles"] = _ordered_roles(managed | set(cmd["roles"]))
    if "teams" in cmd:
        requested["teams"] = sorted(set(cmd["teams"]))
    changed = domain.changes(person, requested)
    if "district_id" in changed:
        caller.require_district(changed["district_id"])
    if "mobile" in changed:
        _mobile_free(session, changed["mobile"])
    columns = dict(changed)
    if "id_card_no" in cmd:
        current = session.fetchval("SELECT id_card_digest FROM people WHERE id = %s", (person["person_id"],))
        number = cmd["id_card_no"]
        if (None if number is None else vault.digest(number)) != (None if current is None else bytes(current)):
            _id_card_free(session, vault, number)
            columns.update(vault.columns(number))
            changed["id_card_no"] = "changed" if number else "removed"  # never the number in the history
    if not changed:
        return public(person)
    return _apply(session, caller, person["person_id"], columns, sorted(changed), changed, now)


def _apply(session, caller, person_id, columns, changed_fields, details, now):
    assignments = ", ".join(f"{field} = %({field})s" for field in columns)
    person = session.fetchone(
        f"UPDATE people AS p SET {assignments}, version = version + 1, updated_at = %(now)s"
        f" WHERE id = %(person_id)s RETURNING {COLUMNS}",
        {**columns, "now": now, "person_id": person_id},
    )
    session.publish(
        "person_updated",
        {**event_state(person), "changed": changed_fields, "updated_at": now},
        aggregate_id=person_id,
    )
    remember(session, "person", person_id, "updated", details, caller, now)
    return public(person)


def refresh_roles(session, caller, person_id, now):
    """Bring the roles the register implies (merchant owner, Party member) in line with the facts."""
    row = session.fetchone(
        "SELECT roles, EXISTS (SELECT 1 FROM merchants WHERE owner_id = p.id) AS owner,"
        " EXISTS (SELECT 1 FROM party_members WHERE person_id = p.id) AS member FROM people p WHERE id = %s"
        " FOR UPDATE",
        (str(person_id),),
    )
    roles = set(row["roles"]) - {"merchant_owner", "party_member"}
    roles |= {"merchant_owner"} if row["owner"] else set()
    roles |= {"party_member"} if row["member"] else set()
    roles = _ordered_roles(roles)
    if roles != row["roles"]:
        _apply(session, caller, str(person_id), {"roles": roles}, ["roles"], {"roles": roles}, now)


def get_person(session, caller, cmd, now, vault):
    person = load(session, cmd["person_id"])
    require_person_access(session, caller, person)
    id_card_no = None
    if caller.is_admin and person["id_card_masked"] is not None:
        sealed = session.fetchval("SELECT id_card_sealed FROM people WHERE id = %s", (person["person_id"],))
        id_card_no = vault.unseal(sealed)
    result = public(person, id_card_no)
    member = session.fetchone(
        f"SELECT {MEMBER_COLUMNS} FROM party_members pm JOIN organisations o ON o.id = pm.branch_id"
        " WHERE pm.person_id = %s",
        (person["person_id"],),
    )
    if member is not None:
        member["party_age"] = domain.party_age(member["joined_on"], domain.today(now))
    result["party_member"] = json_ready(member)
    if cmd["include_history"]:
        result["history"] = history(session, "person", person["person_id"])
    return result


def search_people(session, caller, cmd, vault):
    query = {k: v for k, v in cmd.items() if k not in ("limit", "cursor")}
    after = domain.decode_cursor(cmd["cursor"], query)
    districts = domain.narrow_districts(caller, [cmd["district_id"]] if "district_id" in cmd else None)
    where, params = [], {"limit": cmd["limit"] + 1}
    if districts is not None:
        where.append("p.district_id = ANY(%(districts)s)")
        params["districts"] = districts
    if "name" in cmd:
        grams, exact = domain.name_grams(cmd["name"])
        where.append("p.name_grams @> %(grams)s::text[]")
        params["grams"] = grams
        if not exact:
            where.append("lower(p.name) LIKE %(like)s")
            params["like"] = domain.like_pattern(cmd["name"])
    if "mobile" in cmd:
        where.append("p.mobile = %(mobile)s")
        params["mobile"] = cmd["mobile"]
    if "id_card_no" in cmd:
        if not caller.is_admin:
            raise Forbidden("only an alliance administrator may look people up by ID-card number")
        where.append("p.id_card_digest = %(digest)s")
        params["digest"] = vault.digest(cmd["id_card_no"])
    if "role" in cmd:
        where.append("p.roles @> ARRAY[%(role)s]")
        params["role"] = cmd["role"]
    if "skill" in cmd:
        where.append("p.skills @> ARRAY[%(skill)s]")
        params["skill"] = cmd["skill"]
    if after is not None:
        where.append("p.id > %(after)s")
        params["after"] = after
    rows = session.fetchall(
        f"SELECT {COLUMNS} FROM people p"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY p.id LIMIT %(limit)s",
        params,
    )
    items, next_cursor = domain.page(rows, cmd["limit"], query, key="person_id")
    return {"items": [public(p) for p in items], "next_cursor": next_cursor}


# Party members ----------------------------------------------------------------------------------


def load_branch(session, branch_id):
    branch = session.fetchone(
        "SELECT id, district_id FROM organisations WHERE id = %s AND type = 'party_branch'", (branch_id,)
    )
    if branch is None:
        raise ValidationError("unknown branch", {"branch_id": [f"no Party branch {branch_id!r}"]})
    return branch


def register_party_member(session, caller, cmd, now):
    person = load(session, cmd["person_id"], lock=True)
    branch = load_branch(session, cmd["branch_id"])
    caller.require_district(branch["district_id"])
    on_day = domain.today(now)
    errors = {}
    if cmd["joined_on"] > on_day:
        errors["joined_on"] = ["cannot be in the future"]
    floating = cmd["floating"] or {}
    if floating and floating["arrived_on"] > on_day:
        errors["floating"] = {"arrived_on": ["cannot be in the future"]}
    if errors:
        raise ValidationError("invalid Party member", errors)
    if session.fetchone("SELECT 1 FROM party_members WHERE person_id = %s", (person["person_id"],)):
        raise Conflict(f"{person['person_id']} is already registered as a Party member")
    member = {
        "person_id": person["person_id"],
        "branch_id": branch["id"],
        "district_id": branch["district_id"],
        "joined_on": cmd["joined_on"],
        "membership": cmd["membership"],
        "floating": bool(floating),
        "home_organisation": floating.get("home_organisation"),
        "home_province": floating.get("home_province"),
        "activity_card_no": floating.get("activity_card_no"),
        "activity_card_issued_on": floating.get("activity_card_issued_on"),
        "arrived_on": floating.get("arrived_on"),
        "transfer_due_on": domain.transfer_due_on(floating["arrived_on"]) if floating else None,
        "registered_at": now,
    }
    session.execute(
        "INSERT INTO party_members (person_id, branch_id, joined_on, membership, floating, home_organisation,"
        " home_province, activity_card_no, activity_card_issued_on, arrived_on, transfer_due_on, registered_at)"
        " VALUES (%(person_id)s, %(branch_id)s, %(joined_on)s, %(membership)s, %(floating)s, %(home_organisation)s,"
        " %(home_province)s, %(activity_card_no)s, %(activity_card_issued_on)s, %(arrived_on)s,"
        " %(transfer_due_on)s, %(registered_at)s)",
        member,
    )
    session.publish("party_member_registered", member, aggregate_id=person["person_id"])
    details = {k: v for k, v in member.items() if k not in ("person_id", "registered_at")}
    remember(session, "person", person["person_id"], "party_member_registered", details, caller, now)
    refresh_roles(session, caller, person["person_id"], now)
    member["party_age"] = domain.party_age(member["joined_on"], on_day)
    return json_ready(member)


def record_transfer_in(session, caller, cmd, now):
    member = session.fetchone(
        f"SELECT pm.person_id::text, {MEMBER_COLUMNS} FROM party_members pm"
        " JOIN organisations o ON o.id = pm.branch_id WHERE pm.person_id = %s FOR UPDATE OF pm",
        (str(cmd["person_id"]),),
    )
    if member is None:
        raise NotFound(f"{cmd['person_id']} is not a registered Party member")
    caller.require_district(member["branch_district_id"])
    if not member["floating"]:
        raise Conflict("only a floating Party member transfers in")
    if member["transferred_in_on"] is not None:
        raise Conflict(f"the transfer was already recorded on {member['transferred_in_on']}")
    transferred_on = cmd["transferred_on"] or domain.today(now)
    if transferred_on < member["arrived_on"] or transferred_on > domain.today(now):
        raise ValidationError(
            "invalid transfer date", {"transferred_on": ["between the arrival and today, both included"]}
        )
    session.execute(
        "UPDATE party_members SET transferred_in_on = %s WHERE person_id = %s", (transferred_on, member["person_id"])
    )
    remember(
        session,
        "person",
        member["person_id"],
        "transferred_in",
        {"branch_id": member["branch_id"], "transferred_on": transferred_on},
        caller,
        now,
    )
    return json_ready({**member, "transferred_in_on": transferred_on})


def announce_due_transfers(session, caller, now):
    """Publish ``floating_member_transfer_due`` once for each floating member six months past
    arrival without a transfer. Marking and publishing share the transaction, and the marking
    UPDATE skips rows another instance already marked: each member is announced once."""
    due = session.fetchall(
        "UPDATE party_members pm SET transfer_due_announced_at = %(now)s FROM organisations o"
        " WHERE o.id = pm.branch_id AND pm.person_id IN (SELECT person_id FROM party_members"
        "   WHERE floating AND transferred_in_on IS NULL AND transfer_due_announced_at IS NULL"
        "   AND transfer_due_on <= %(today)s ORDER BY transfer_due_on LIMIT %(batch)s FOR UPDATE SKIP LOCKED)"
        " RETURNING pm.person_id::text, pm.branch_id, o.district_id, pm.home_organisation, pm.home_province,"
        " pm.arrived_on, pm.transfer_due_on",
        {"now": now, "today": domain.today(now), "batch": TRANSFER_BATCH},
    )
    for member in due:
        session.publish("floating_member_transfer_due", member, aggregate_id=member["person_id"])
        remember(session, "person", member["person_id"], "transfer_due_announced", {}, caller, now)
    return len(due)
