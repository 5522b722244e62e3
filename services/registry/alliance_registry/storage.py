"""The registry's SQL, in one place: functions of the use case's session (``Session``), used by the
use cases, the queries and the timers. Nothing here decides; it reads and writes what it is told.

Every change goes to the ``history`` table too (``remember``): the outbox is purged after some
days, the history is the register's own memory. ID-card numbers never reach it, nor the events:
only the sealed number, its keyed digest and the masked form are stored (``domain.id_cards``).
"""

import json
import uuid
from contextlib import contextmanager
from datetime import date, datetime

from psycopg.types.json import Jsonb

from alliance_contracts.registry import PERSON_ROLES

from .domain import search
from .domain.merchants import CLOSED
from .domain.organisations import PARTY_BRANCH
from .domain.people import DEFAULT_LANGUAGE

MERCHANT_COLUMNS = (
    "m.id::text AS merchant_id, m.shop_name, m.district_id, m.unit_no, m.category, m.credit_code,"
    " m.contact_phone, m.online_shop_url, m.owner_id::text AS owner_id, m.status, m.version,"
    " m.created_at AS registered_at, m.updated_at"
)
PERSON_COLUMNS = (
    "p.id::text AS person_id, p.name, p.mobile, p.id_card_masked, p.roles, p.skills, p.teams, p.language,"
    " p.district_id, p.version, p.created_at AS registered_at, p.updated_at"
)
MEMBER_COLUMNS = (
    "pm.branch_id, o.district_id AS branch_district_id, pm.joined_on, pm.membership, pm.floating,"
    " pm.home_organisation, pm.home_province, pm.activity_card_no, pm.activity_card_issued_on, pm.arrived_on,"
    " pm.transfer_due_on, pm.transferred_in_on"
)
HONOUR_COLUMNS = (
    "h.id::text AS honour_id, h.merchant_id::text AS merchant_id, m.district_id, h.kind, h.year, h.stars,"
    " h.reason, h.awarded_by, h.awarded_on, h.awarded_at, h.revoked_at, h.revoked_reason"
)
PAIRING_COLUMNS = (
    "pr.id::text AS pairing_id, pr.person_id::text AS person_id, pr.merchant_id::text AS merchant_id,"
    " m.district_id, pr.started_on, pr.ended_on, pr.end_reason, pr.note"
)
CHUNK = 1000  # rows per bulk statement of an import: bounded memory and statement size


def _where(conditions):
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _name_condition(column, fragment, params):
    """The conditions finding names containing ``fragment`` through the ``*name_grams`` index."""
    grams, exact = search.name_grams(fragment)
    params["grams"] = grams
    conditions = [f"{column}_grams @> %(grams)s::text[]"]
    if not exact:
        conditions.append(f"lower({column}) LIKE %(like)s")
        params["like"] = search.like_pattern(fragment)
    return conditions


@contextmanager
def savepoint(session):
    """A part of the use case's transaction that is undone alone if it raises."""
    with session.connection.transaction():
        yield


# History ----------------------------------------------------------------------------------------


def _actor(caller):
    return f"{caller.kind}:{caller.subject}"


def _iso(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _details(details):
    return Jsonb(details, dumps=lambda value: json.dumps(value, default=_iso))


def remember(session, aggregate_type, aggregate_id, action, details, caller, now):
    """Add one change to the history (who, when, what) in the use case's transaction."""
    session.execute(
        "INSERT INTO history (aggregate_type, aggregate_id, action, details, actor, at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (aggregate_type, str(aggregate_id), action, _details(details), _actor(caller), now),
    )


def remember_many(session, entries, caller, now):
    """Several history rows at once: ``entries`` of (aggregate_type, aggregate_id, action, details)."""
    if not entries:
        return
    with session.connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO history (aggregate_type, aggregate_id, action, details, actor, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(t, str(i), a, _details(d), _actor(caller), now) for t, i, a, d in entries],
        )


def history(session, aggregate_type, aggregate_id):
    return session.fetchall(
        "SELECT action, details, actor, at FROM history WHERE aggregate_type = %s AND aggregate_id = %s ORDER BY id",
        (aggregate_type, str(aggregate_id)),
    )


# Districts and organisations --------------------------------------------------------------------


def districts(session):
    return session.fetchall("SELECT id, name, name_en, is_alliance_base FROM districts ORDER BY id")


def organisation_exists(session, organisation_id):
    return session.fetchone("SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)) is not None


ORGANISATION_COLUMNS = (
    "o.id, o.id AS organisation_id, o.type, o.name, o.name_en, o.short_name, o.parent_id, o.district_id,"
    " o.status, o.version, o.created_at, o.updated_at, o.retired_at, o.retired_reason,"
    " ARRAY(SELECT l.person_id::text FROM organisation_liaisons l WHERE l.organisation_id = o.id"
    " ORDER BY l.position) AS liaison_ids"
)


def organisations(session, filters):
    """Organisations of the ``type`` and ``parent_id`` in ``filters`` (either may be absent), the
    active ones unless ``include_retired``."""
    where, params = [], {}
    for field in ("type", "parent_id"):
        if field in filters:
            where.append(f"o.{field} = %({field})s")
            params[field] = filters[field]
    if not filters.get("include_retired"):
        where.append("o.status = 'active'")
    return session.fetchall(
        f"SELECT {ORGANISATION_COLUMNS} FROM organisations o"
        + _where(where)
        + " ORDER BY o.parent_id NULLS FIRST, o.id",
        params,
    )


def party_branch(session, branch_id, *, share=False):
    """A Party branch; held ``FOR SHARE`` until commit when ``share`` (a retirement waits for it)."""
    return session.fetchone(
        "SELECT id, district_id, status FROM organisations WHERE id = %s AND type = %s"
        + (" FOR SHARE" if share else ""),
        (branch_id, PARTY_BRANCH),
    )


def organisation(session, organisation_id, *, lock=False):
    """An organisation with its liaisons; locked for a change when ``lock``."""
    return session.fetchone(
        f"SELECT {ORGANISATION_COLUMNS} FROM organisations o WHERE o.id = %s" + (" FOR UPDATE OF o" if lock else ""),
        (organisation_id,),
    )


def lock_organisation_tree(session):
    """Take the organisations' tree for this transaction: two moves at once could each find no
    cycle and together make one."""
    session.execute("SELECT pg_advisory_xact_lock(hashtext('registry.organisation_tree'))")


def alliance_exists(session, alliance_type):
    return session.fetchone("SELECT 1 FROM organisations WHERE type = %s", (alliance_type,)) is not None


def ancestors(session, organisation_id):
    """The ids from ``organisation_id`` up to its root, itself first."""
    rows = session.fetchall(
        "WITH RECURSIVE up (id, parent_id, depth) AS ("
        " SELECT id, parent_id, 0 FROM organisations WHERE id = %s"
        " UNION ALL SELECT o.id, o.parent_id, up.depth + 1 FROM organisations o JOIN up ON o.id = up.parent_id"
        " WHERE up.depth < 100)"
        " SELECT id FROM up ORDER BY depth",
        (organisation_id,),
    )
    return [row["id"] for row in rows]


def organisation_dependants(session, organisation_id):
    """What still needs an organisation: its active children's ids, its Party members, the open
    pairings of those members, the open transfers to it (a receiving branch)."""
    children = session.fetchall(
        "SELECT id FROM organisations WHERE parent_id = %s AND status = 'active' ORDER BY id", (organisation_id,)
    )
    counts = session.fetchone(
        "SELECT (SELECT count(*) FROM party_members WHERE branch_id = %(id)s) AS members,"
        " (SELECT count(*) FROM pairings pr JOIN party_members pm ON pm.person_id = pr.person_id"
        "  WHERE pm.branch_id = %(id)s AND pr.ended_on IS NULL) AS pairings,"
        " (SELECT count(*) FROM member_transfers WHERE to_branch_id = %(id)s AND status = 'started') AS transfers",
        {"id": organisation_id},
    )
    return [row["id"] for row in children], counts["members"], counts["pairings"], counts["transfers"]


def existing_people(session, person_ids):
    """Which of ``person_ids`` (strings) the register has."""
    rows = session.fetchall("SELECT id::text FROM people WHERE id = ANY(%s::uuid[])", (list(person_ids),))
    return {row["id"] for row in rows}


def insert_organisation(session, fields, now):
    session.execute(
        "INSERT INTO organisations (id, type, name, name_en, short_name, parent_id, district_id, created_at,"
        " updated_at) VALUES (%(organisation_id)s, %(type)s, %(name)s, %(name_en)s, %(short_name)s, %(parent_id)s,"
        " %(district_id)s, %(now)s, %(now)s)",
        {**fields, "now": now},
    )


def update_organisation(session, organisation_id, columns, now):
    """Write ``columns`` of an organisation and bump its version."""
    sets = "".join(f"{column} = %({column})s, " for column in columns)
    session.execute(
        f"UPDATE organisations SET {sets}version = version + 1, updated_at = %(now)s WHERE id = %(id)s",
        {**columns, "now": now, "id": organisation_id},
    )


def set_liaisons(session, organisation_id, person_ids):
    """Make ``person_ids`` (in order) the organisation's liaisons (its version is the caller's to bump)."""
    session.execute("DELETE FROM organisation_liaisons WHERE organisation_id = %s", (organisation_id,))
    if person_ids:
        session.execute(
            "INSERT INTO organisation_liaisons (organisation_id, person_id, position)"
            " SELECT %s, p.id, p.n FROM unnest(%s::uuid[]) WITH ORDINALITY AS p (id, n)",
            (organisation_id, list(person_ids)),
        )


def remember_organisation(session, version, before, after, change, reason, caller, now):
    """One version of an organisation in its history: the change, the state before and after."""
    session.execute(
        "INSERT INTO organisation_history (organisation_id, version, change, before, after, reason, actor, at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            after["organisation_id"],
            version,
            change,
            None if before is None else _details(before),
            _details(after),
            reason,
            _actor(caller),
            now,
        ),
    )


def organisation_history(session, organisation_id, after_version, limit):
    return session.fetchall(
        "SELECT version, change, before, after, reason, actor, at FROM organisation_history"
        " WHERE organisation_id = %s AND version > %s ORDER BY version LIMIT %s",
        (organisation_id, after_version, limit),
    )


# Merchants --------------------------------------------------------------------------------------


def merchant(session, merchant_id, *, lock=False):
    return session.fetchone(
        f"SELECT {MERCHANT_COLUMNS} FROM merchants m WHERE m.id = %s" + (" FOR UPDATE" if lock else ""),
        (str(merchant_id),),
    )


def credit_code_taken(session, credit_code):
    return session.fetchone("SELECT 1 FROM merchants WHERE credit_code = %s", (credit_code,)) is not None


def insert_merchant(session, fields, now):
    return session.fetchone(
        "INSERT INTO merchants AS m (shop_name, district_id, unit_no, category, credit_code, contact_phone,"
        " online_shop_url, owner_id, created_at, updated_at) VALUES (%(shop_name)s, %(district_id)s, %(unit_no)s,"
        " %(category)s, %(credit_code)s, %(contact_phone)s, %(online_shop_url)s, %(owner_id)s, %(now)s, %(now)s)"
        f" RETURNING {MERCHANT_COLUMNS}",
        {**fields, "now": now},
    )


def update_merchant(session, merchant_id, changed, now):
    """Write ``changed`` (column: value) to a merchant, one version further."""
    assignments = ", ".join(f"{field} = %({field})s" for field in changed)
    return session.fetchone(
        f"UPDATE merchants AS m SET {assignments}, version = version + 1, updated_at = %(now)s"
        f" WHERE id = %(merchant_id)s RETURNING {MERCHANT_COLUMNS}",
        {**changed, "now": now, "merchant_id": merchant_id},
    )


def owns_merchant(session, person_id, merchant_id):
    return (
        session.fetchone("SELECT 1 FROM merchants WHERE id = %s AND owner_id = %s", (merchant_id, person_id))
        is not None
    )


def search_merchants(session, filters, districts, after, limit):
    """Merchants matching ``filters`` (a search command's), in ``districts`` (None: all), after the
    key ``after``, at most ``limit`` in id order."""
    where, params = [], {"limit": limit}
    if districts is not None:
        where.append("m.district_id = ANY(%(districts)s)")
        params["districts"] = districts
    if "name" in filters:
        where += _name_condition("m.shop_name", filters["name"], params)
    for field, column in (("phone", "contact_phone"), ("credit_code", "credit_code"), ("category", "category")):
        if field in filters:
            where.append(f"m.{column} = %({field})s")
            params[field] = filters[field]
    if "status" in filters:
        where.append("m.status = %(status)s")
        params["status"] = filters["status"]
    if "owner_id" in filters:
        where.append("m.owner_id = %(owner_id)s")
        params["owner_id"] = str(filters["owner_id"])
    if "honour" in filters:
        where.append(
            "EXISTS (SELECT 1 FROM honours h WHERE h.merchant_id = m.id AND h.kind = %(honour)s"
            " AND h.revoked_at IS NULL)"
        )
        params["honour"] = filters["honour"]
    if after is not None:
        where.append("m.id > %(after)s")
        params["after"] = after
    return session.fetchall(
        f"SELECT {MERCHANT_COLUMNS} FROM merchants m" + _where(where) + " ORDER BY m.id LIMIT %(limit)s", params
    )


def merchants_by_credit_code(session, credit_codes):
    """{credit code: merchant} of the registered ones among ``credit_codes``."""
    found = {}
    for start in range(0, len(credit_codes), CHUNK):
        for row in session.fetchall(
            f"SELECT {MERCHANT_COLUMNS} FROM merchants m WHERE m.credit_code = ANY(%s)",
            (credit_codes[start : start + CHUNK],),
        ):
            found[row["credit_code"]] = row
    return found


def insert_merchants(session, rows, now):
    """Register many merchants (``rows`` of ``insert_merchant``'s fields); returns them."""
    created = []
    with session.connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(
                "INSERT INTO merchants AS m (shop_name, district_id, unit_no, category, credit_code, contact_phone,"
                " online_shop_url, owner_id, created_at, updated_at) VALUES (%(shop_name)s, %(district_id)s,"
                " %(unit_no)s, %(category)s, %(credit_code)s, %(contact_phone)s, %(online_shop_url)s, %(owner_id)s,"
                f" %(now)s, %(now)s) RETURNING {MERCHANT_COLUMNS}",
                [{**row, "now": now} for row in rows[start : start + CHUNK]],
                returning=True,
            )
            while True:
                created.extend(cursor.fetchall())
                if not cursor.nextset():
                    break
    return created


# People -----------------------------------------------------------------------------------------


def person(session, person_id, *, lock=False):
    return session.fetchone(
        f"SELECT {PERSON_COLUMNS} FROM people p WHERE p.id = %s" + (" FOR UPDATE" if lock else ""), (str(person_id),)
    )


def person_exists(session, person_id):
    return session.fetchone("SELECT 1 FROM people WHERE id = %s", (str(person_id),)) is not None


def mobile_taken(session, mobile):
    return session.fetchone("SELECT 1 FROM people WHERE mobile = %s", (mobile,)) is not None


def id_card_taken(session, digests):
    """Whether a person's number has one of ``digests`` (the number's, one per key held)."""
    return session.fetchone("SELECT 1 FROM people WHERE id_card_digest = ANY(%s)", (digests,)) is not None


# Taken before looking a number up to write it while more than one ID-card key is held: two
# instances sealing under different keys (mid-rotation) make different digests of one number, which
# the unique index cannot compare, so such writes take their turns instead (they are rare: people
# registered or given a number by staff).
ID_CARD_WRITE_LOCK = 0x1DCA4D5


def lock_id_card_writes(session):
    """Wait for the lock (till the commit), with the next statement: that one, the look-up, then
    sees what the previous holder committed (each statement reads as of its own start)."""
    session.defer("SELECT pg_advisory_xact_lock(%s)", (ID_CARD_WRITE_LOCK,))


def id_card_digest(session, person_id):
    """(digest, key id) of a person's number, or (None, None)."""
    row = session.fetchone("SELECT id_card_digest, id_card_key_id FROM people WHERE id = %s", (person_id,))
    if row is None or row["id_card_digest"] is None:
        return None, None
    return bytes(row["id_card_digest"]), row["id_card_key_id"]


def id_card_sealed(session, person_id):
    return session.fetchval("SELECT id_card_sealed FROM people WHERE id = %s", (person_id,))


def insert_person(session, fields, id_card_columns, now):
    """Register a person: ``fields`` as a registration has them, ``id_card_columns`` from the vault."""
    return session.fetchone(
        "INSERT INTO people AS p (name, mobile, id_card_sealed, id_card_digest, id_card_masked, roles, skills,"
        " teams, language, district_id, created_at, updated_at) VALUES (%(name)s, %(mobile)s, %(id_card_sealed)s,"
        " %(id_card_digest)s, %(id_card_masked)s, %(roles)s, %(skills)s, %(teams)s, %(language)s, %(district_id)s,"
        f" %(now)s, %(now)s) RETURNING {PERSON_COLUMNS}",
        {"teams": [], **fields, **id_card_columns, "now": now},
    )


def update_person(session, person_id, columns, now):
    """Write ``columns`` (column: value) to a person, one version further."""
    assignments = ", ".join(f"{field} = %({field})s" for field in columns)
    return session.fetchone(
        f"UPDATE people AS p SET {assignments}, version = version + 1, updated_at = %(now)s"
        f" WHERE id = %(person_id)s RETURNING {PERSON_COLUMNS}",
        {**columns, "now": now, "person_id": person_id},
    )


def role_facts(session, person_id):
    """A person's roles, locked, and the facts the implied ones follow: ``owner``, ``member``."""
    return session.fetchone(
        "SELECT roles, EXISTS (SELECT 1 FROM merchants WHERE owner_id = p.id) AS owner,"
        " EXISTS (SELECT 1 FROM party_members WHERE person_id = p.id) AS member FROM people p WHERE id = %s"
        " FOR UPDATE",
        (str(person_id),),
    )


def people_by_mobile(session, mobiles):
    """{mobile: {id, name, mobile}} of the registered people among ``mobiles``."""
    found = {}
    for start in range(0, len(mobiles), CHUNK):
        for row in session.fetchall(
            "SELECT id::text, name, mobile FROM people WHERE mobile = ANY(%s)", (mobiles[start : start + CHUNK],)
        ):
            found[row["mobile"]] = row
    return found


def search_people(session, filters, districts, id_card_digests, after, limit):
    """People matching ``filters`` (a search command's; the ID-card number by its digests), in
    ``districts`` (None: all), after the key ``after``, at most ``limit`` in id order."""
    where, params = [], {"limit": limit}
    if districts is not None:
        where.append("p.district_id = ANY(%(districts)s)")
        params["districts"] = districts
    if "name" in filters:
        where += _name_condition("p.name", filters["name"], params)
    if "mobile" in filters:
        where.append("p.mobile = %(mobile)s")
        params["mobile"] = filters["mobile"]
    if id_card_digests is not None:
        where.append("p.id_card_digest = ANY(%(digests)s)")
        params["digests"] = id_card_digests
    if "role" in filters:
        where.append("p.roles @> ARRAY[%(role)s]")
        params["role"] = filters["role"]
    if "skill" in filters:
        where.append("p.skills @> ARRAY[%(skill)s]")
        params["skill"] = filters["skill"]
    if after is not None:
        where.append("p.id > %(after)s")
        params["after"] = after
    return session.fetchall(
        f"SELECT {PERSON_COLUMNS} FROM people p" + _where(where) + " ORDER BY p.id LIMIT %(limit)s", params
    )


# Party members ----------------------------------------------------------------------------------


def party_member(session, person_id, *, lock=False):
    """A Party member with their branch's district; locked for a change when ``lock``."""
    return session.fetchone(
        f"SELECT pm.person_id::text, {MEMBER_COLUMNS} FROM party_members pm"
        " JOIN organisations o ON o.id = pm.branch_id WHERE pm.person_id = %s" + (" FOR UPDATE OF pm" if lock else ""),
        (str(person_id),),
    )


def is_party_member(session, person_id):
    return session.fetchone("SELECT 1 FROM party_members WHERE person_id = %s", (str(person_id),)) is not None


def insert_party_member(session, member):
    session.execute(
        "INSERT INTO party_members (person_id, branch_id, joined_on, membership, floating, home_organisation,"
        " home_province, activity_card_no, activity_card_issued_on, arrived_on, transfer_due_on, registered_at)"
        " VALUES (%(person_id)s, %(branch_id)s, %(joined_on)s, %(membership)s, %(floating)s, %(home_organisation)s,"
        " %(home_province)s, %(activity_card_no)s, %(activity_card_issued_on)s, %(arrived_on)s,"
        " %(transfer_due_on)s, %(registered_at)s)",
        member,
    )


def claim_due_transfers(session, today, now, batch):
    """Mark at most ``batch`` floating members due for transfer on ``today``, not yet announced and
    without a started transfer (it is under way: no reminder), as announced at ``now``; returns
    them. Rows another instance marks meanwhile are skipped (``SKIP LOCKED``), so each member is
    claimed once."""
    return session.fetchall(
        "UPDATE party_members pm SET transfer_due_announced_at = %(now)s FROM organisations o"
        " WHERE o.id = pm.branch_id AND pm.person_id IN (SELECT person_id FROM party_members"
        "   WHERE floating AND transferred_in_on IS NULL AND transfer_due_announced_at IS NULL"
        "   AND transfer_due_on <= %(today)s AND NOT EXISTS (SELECT 1 FROM member_transfers t"
        "     WHERE t.person_id = party_members.person_id AND t.status = 'started')"
        "   ORDER BY transfer_due_on LIMIT %(batch)s FOR UPDATE SKIP LOCKED)"
        " RETURNING pm.person_id::text, pm.branch_id, o.district_id, pm.home_organisation, pm.home_province,"
        " pm.arrived_on, pm.transfer_due_on",
        {"now": now, "today": today, "batch": batch},
    )


# Transfers (组织关系转接, domain/transfers.py) ---------------------------------------------------

TRANSFER_COLUMNS = (
    "t.id::text AS transfer_id, t.person_id::text AS person_id, t.from_branch_id, fo.district_id AS from_district_id,"
    " t.to_branch_id, tob.district_id AS to_district_id, t.status, t.started_on, t.letter_no, t.note,"
    " t.completed_on, t.decline_reason, t.decline_note, t.started_at, t.started_by, t.closed_at, t.closed_by"
)
TRANSFER_FROM = (
    " FROM member_transfers t JOIN organisations fo ON fo.id = t.from_branch_id"
    " JOIN organisations tob ON tob.id = t.to_branch_id"
)


def transfer(session, transfer_id, *, lock=False):
    return session.fetchone(
        f"SELECT {TRANSFER_COLUMNS}{TRANSFER_FROM} WHERE t.id = %s" + (" FOR UPDATE OF t" if lock else ""),
        (str(transfer_id),),
    )


def open_transfer(session, person_id):
    return session.fetchone(
        f"SELECT {TRANSFER_COLUMNS}{TRANSFER_FROM} WHERE t.person_id = %s AND t.status = 'started'", (str(person_id),)
    )


def latest_transfer(session, person_id):
    return session.fetchone(
        f"SELECT {TRANSFER_COLUMNS}{TRANSFER_FROM} WHERE t.person_id = %s ORDER BY t.started_at DESC, t.id LIMIT 1",
        (str(person_id),),
    )


def insert_transfer(session, fields, caller, now):
    """A transfer, started (or, with ``completed_on``, completed at once); returns it as read."""
    row = {
        "id": str(uuid.uuid4()),
        "completed_on": None,
        "letter_no": None,
        "note": None,
        **fields,
        "by": _actor(caller),
        "now": now,
    }
    session.execute(
        "INSERT INTO member_transfers (id, person_id, from_branch_id, to_branch_id, status, started_on, letter_no,"
        " note, completed_on, started_at, started_by, closed_at, closed_by)"
        " VALUES (%(id)s, %(person_id)s, %(from_branch_id)s, %(to_branch_id)s, %(status)s, %(started_on)s,"
        " %(letter_no)s, %(note)s, %(completed_on)s, %(now)s, %(by)s,"
        " CASE WHEN %(status)s = 'started' THEN NULL ELSE %(now)s END,"
        " CASE WHEN %(status)s = 'started' THEN NULL ELSE %(by)s END)",
        row,
    )
    return transfer(session, row["id"])


def close_transfer(session, transfer_id, columns, caller, now):
    """Complete or decline a started transfer (``columns``: status and its details)."""
    assignments = ", ".join(f"{column} = %({column})s" for column in columns)
    session.execute(
        f"UPDATE member_transfers SET {assignments}, closed_at = %(now)s, closed_by = %(by)s WHERE id = %(id)s",
        {**columns, "now": now, "by": _actor(caller), "id": str(transfer_id)},
    )
    return transfer(session, transfer_id)


def move_membership(session, person_id, branch_id, transferred_on):
    """The membership moves to ``branch_id`` (the receiving branch) on ``transferred_on``."""
    session.execute(
        "UPDATE party_members SET branch_id = %s, transferred_in_on = %s WHERE person_id = %s",
        (branch_id, transferred_on, str(person_id)),
    )


def list_transfers(session, filters, districts, after, limit):
    """Transfers matching ``filters`` whose member's branch or receiving branch lies in ``districts``
    (None: all), newest first, after the key ``after`` (``started_at|id``), at most ``limit``."""
    where, params = [], {"limit": limit}
    if districts is not None:
        where.append("(fo.district_id = ANY(%(districts)s) OR tob.district_id = ANY(%(districts)s))")
        params["districts"] = list(districts)
    for field, column in (("status", "t.status"), ("person_id", "t.person_id"), ("to_branch_id", "t.to_branch_id")):
        if field in filters:
            where.append(f"{column} = %({field})s")
            params[field] = str(filters[field])
    if "branch_id" in filters:
        where.append("(t.from_branch_id = %(branch_id)s OR t.to_branch_id = %(branch_id)s)")
        params["branch_id"] = filters["branch_id"]
    if after is not None:
        where.append("(t.started_at, t.id) < (%(after_at)s, %(after_id)s)")
        params["after_at"], params["after_id"] = after
    return session.fetchall(
        f"SELECT {TRANSFER_COLUMNS}{TRANSFER_FROM}"
        + _where(where)
        + " ORDER BY t.started_at DESC, t.id DESC LIMIT %(limit)s",
        params,
    )


# ID-card keys -----------------------------------------------------------------------------------


def claim_id_cards_to_reseal(session, key_ids, except_people, batch):
    """At most ``batch`` people whose number is sealed under one of ``key_ids`` (but those of
    ``except_people``), locked; rows another instance holds are skipped (``SKIP LOCKED``), so two
    instances re-seal different rows. In no order: any rows will do, and the scan stops at
    ``batch`` instead of sorting every row still to re-seal."""
    return session.fetchall(
        "SELECT id::text AS person_id, id_card_sealed, id_card_key_id FROM people"
        " WHERE id_card_key_id = ANY(%s) AND id <> ALL(%s::uuid[]) LIMIT %s FOR UPDATE SKIP LOCKED",
        (list(key_ids), list(except_people), batch),
    )


def id_card_digests_taken(session, digests):
    """Those of ``digests`` some person's number has."""
    rows = session.fetchall("SELECT id_card_digest FROM people WHERE id_card_digest = ANY(%s)", (digests,))
    return {bytes(row["id_card_digest"]) for row in rows}


def reseal_id_cards(session, resealed):
    """Write ``resealed`` ({person id: {id_card_sealed, id_card_digest}}) in one statement: the
    same numbers under another key, so neither the version nor the history changes."""
    ids = list(resealed)
    session.execute(
        "UPDATE people p SET id_card_sealed = v.sealed, id_card_digest = v.digest"
        " FROM unnest(%s::uuid[], %s::bytea[], %s::bytea[]) AS v (id, sealed, digest) WHERE p.id = v.id",
        (
            ids,
            [resealed[i]["id_card_sealed"] for i in ids],
            [resealed[i]["id_card_digest"] for i in ids],
        ),
    )


def id_card_keys_in_use(session, key_ids):
    """Those of ``key_ids`` some number is sealed under."""
    rows = session.fetchall(
        "SELECT k.key_id FROM unnest(%s::smallint[]) AS k (key_id)"
        " WHERE EXISTS (SELECT 1 FROM people WHERE id_card_key_id = k.key_id)",
        (list(key_ids),),
    )
    return {row["key_id"] for row in rows}


def id_card_key_counts(session):
    """{key id: numbers sealed under it}."""
    rows = session.fetchall(
        "SELECT id_card_key_id AS key_id, count(*) AS n FROM people WHERE id_card_key_id IS NOT NULL GROUP BY 1"
    )
    return {row["key_id"]: row["n"] for row in rows}


# Honours ----------------------------------------------------------------------------------------


def standing_honour(session, merchant_id, kind, year):
    """The id of the merchant's unrevoked honour of ``kind`` (for ``year``), or None."""
    return session.fetchval(
        "SELECT id FROM honours WHERE merchant_id = %s AND kind = %s AND coalesce(year, 0) = coalesce(%s, 0)"
        " AND revoked_at IS NULL",
        (merchant_id, kind, year),
    )


def insert_honour(session, fields, now):
    return session.fetchone(
        "WITH h AS (INSERT INTO honours (merchant_id, kind, year, stars, reason, awarded_by, awarded_on, awarded_at)"
        " VALUES (%(merchant_id)s, %(kind)s, %(year)s, %(stars)s, %(reason)s, %(awarded_by)s, %(awarded_on)s,"
        f" %(now)s) RETURNING *) SELECT {HONOUR_COLUMNS} FROM h JOIN merchants m ON m.id = h.merchant_id",
        {**fields, "now": now},
    )


def honour(session, honour_id):
    return session.fetchone(
        f"SELECT {HONOUR_COLUMNS} FROM honours h JOIN merchants m ON m.id = h.merchant_id WHERE h.id = %s",
        (str(honour_id),),
    )


def revoke_honour(session, honour_id, reason, now):
    """Revoke a standing honour; False if it was revoked already."""
    return (
        session.fetchone(
            "UPDATE honours SET revoked_at = %s, revoked_reason = %s WHERE id = %s AND revoked_at IS NULL RETURNING id",
            (now, reason, honour_id),
        )
        is not None
    )


def list_honours(session, filters, merchant_id, districts, after, limit):
    """Honours matching ``filters`` (a list command's), of ``merchant_id`` (None: any) in
    ``districts`` (None: all), after the key ``after``, at most ``limit`` in id order."""
    where, params = [], {"limit": limit}
    if merchant_id is not None:
        where.append("h.merchant_id = %(own)s")
        params["own"] = merchant_id
    if districts is not None:
        where.append("m.district_id = ANY(%(districts)s)")
        params["districts"] = districts
    if "merchant_id" in filters:
        where.append("h.merchant_id = %(merchant_id)s")
        params["merchant_id"] = str(filters["merchant_id"])
    for field in ("kind", "year"):
        if field in filters:
            where.append(f"h.{field} = %({field})s")
            params[field] = filters[field]
    if not filters["include_revoked"]:
        where.append("h.revoked_at IS NULL")
    if after is not None:
        where.append("h.id > %(after)s")
        params["after"] = after
    return session.fetchall(
        f"SELECT {HONOUR_COLUMNS} FROM honours h JOIN merchants m ON m.id = h.merchant_id"
        + _where(where)
        + " ORDER BY h.id LIMIT %(limit)s",
        params,
    )


# Pairings ---------------------------------------------------------------------------------------


def paired(session, person_id, merchant_id):
    """Whether the two are paired now."""
    return (
        session.fetchone(
            "SELECT 1 FROM pairings WHERE person_id = %s AND merchant_id = %s AND ended_on IS NULL",
            (person_id, merchant_id),
        )
        is not None
    )


MAX_PAIRINGS_LISTED = 100  # a merchant or a member has a handful; a bound all the same


def list_pairings(session, merchant_id, person_id, include_ended, districts):
    """Pairings of a merchant or of a person, newest first, in ``districts`` (None: all)."""
    where, params = [], {}
    if merchant_id is not None:
        where.append("pr.merchant_id = %(merchant)s")
        params["merchant"] = str(merchant_id)
    if person_id is not None:
        where.append("pr.person_id = %(person)s")
        params["person"] = str(person_id)
    if not include_ended:
        where.append("pr.ended_on IS NULL")
    if districts is not None:
        where.append("m.district_id = ANY(%(districts)s)")
        params["districts"] = list(districts)
    return session.fetchall(
        f"SELECT {PAIRING_COLUMNS} FROM pairings pr JOIN merchants m ON m.id = pr.merchant_id"
        + _where(where)
        + f" ORDER BY pr.started_on DESC, pr.id LIMIT {MAX_PAIRINGS_LISTED}",
        params,
    )


def insert_pairing(session, person_id, merchant_id, started_on, note):
    return session.fetchone(
        "WITH pr AS (INSERT INTO pairings (person_id, merchant_id, started_on, note) VALUES (%s, %s, %s, %s)"
        f" RETURNING *) SELECT {PAIRING_COLUMNS} FROM pr JOIN merchants m ON m.id = pr.merchant_id",
        (person_id, merchant_id, started_on, note),
    )


def pairing(session, pairing_id):
    return session.fetchone(
        f"SELECT {PAIRING_COLUMNS} FROM pairings pr JOIN merchants m ON m.id = pr.merchant_id WHERE pr.id = %s",
        (str(pairing_id),),
    )


def end_pairing(session, pairing_id, ended_on, reason):
    session.execute("UPDATE pairings SET ended_on = %s, end_reason = %s WHERE id = %s", (ended_on, reason, pairing_id))


# Audiences --------------------------------------------------------------------------------------

# What a notifier needs to reach a merchant: its contact phone, else its owner's mobile; and the
# owner's language.
_MERCHANT_CONTACT = (
    "SELECT 'merchant' AS kind, m.id::text AS id, m.shop_name AS name,"
    " coalesce(m.contact_phone, o.mobile) AS mobile, coalesce(o.language, %(default_language)s) AS language,"
    " m.district_id, m.owner_id::text AS person_id"
    " FROM merchants m LEFT JOIN people o ON o.id = m.owner_id"
)
_PERSON_CONTACT = (
    "SELECT 'person' AS kind, p.id::text AS id, p.name, p.mobile, p.language, p.district_id, p.id::text AS person_id"
    " FROM people p"
)


def districts_of(session, table, ids):
    """The ``ids`` found in ``table`` (``merchants`` or ``people``), each with its district."""
    if table not in ("merchants", "people"):
        raise ValueError(f"no records of {table!r} have districts")
    return session.fetchall(f"SELECT id::text, district_id FROM {table} WHERE id = ANY(%s::uuid[])", (ids,))


def contacts(session, audience, after, limit, within=None):
    """A page of the contacts of ``audience``, at most ``limit`` in key order after the key
    ``after``. The audience is one of ``{"districts": [...]}`` (their merchants still open, keyed
    by (district, id)), ``{"merchant_ids": [...]}``, ``{"person_ids": [...]}``, ``{"branch_id":
    id}`` (its Party members), ``{"organisation_id": id}`` (its liaisons), ``{"team": name}`` or
    ``{"role": role}`` — those two people in the districts ``within`` (None: all)."""
    params = {"limit": limit, "default_language": DEFAULT_LANGUAGE}
    if "districts" in audience:
        # Paged in (district, id) order, which the (district_id, id) index returns as it is: in id
        # order alone the planner walks the primary key and filters, 35 ms a page at city scale.
        params.update(districts=audience["districts"], closed=CLOSED)
        select, key, where = (
            _MERCHANT_CONTACT,
            "m.district_id, m.id",
            "m.district_id = ANY(%(districts)s) AND m.status <> %(closed)s",
        )
        after_key = "(%(after_district)s, %(after)s::uuid)"
        if after is not None:
            params["after_district"], params["after"] = after
    else:
        after_key = "%(after)s"
        params["after"] = after
        if "merchant_ids" in audience:
            params["ids"] = audience["merchant_ids"]
            select, key, where = _MERCHANT_CONTACT, "m.id", "m.id = ANY(%(ids)s::uuid[])"
        elif "person_ids" in audience:
            params["ids"] = audience["person_ids"]
            select, key, where = _PERSON_CONTACT, "p.id", "p.id = ANY(%(ids)s::uuid[])"
        elif "organisation_id" in audience:
            params["organisation"] = audience["organisation_id"]
            select = f"{_PERSON_CONTACT} JOIN organisation_liaisons l ON l.person_id = p.id"
            key, where = "p.id", "l.organisation_id = %(organisation)s"
        elif "branch_id" in audience:
            params["branch"] = audience["branch_id"]
            select = f"{_PERSON_CONTACT} JOIN party_members pm ON pm.person_id = p.id"
            key, where = "p.id", "pm.branch_id = %(branch)s"
        else:
            if "team" in audience:
                params["team"] = audience["team"]
                select, key, where = _PERSON_CONTACT, "p.id", "p.teams @> ARRAY[%(team)s]"
            else:
                params["role"] = audience["role"]
                select, key, where = _PERSON_CONTACT, "p.id", "p.roles @> ARRAY[%(role)s]"
            if within is not None:
                where += " AND p.district_id = ANY(%(within)s)"
                params["within"] = within
    if after is not None:
        where += f" AND ({key}) > {after_key}"
    return session.fetchall(f"{select} WHERE {where} ORDER BY {key} LIMIT %(limit)s", params)


# Signing in -------------------------------------------------------------------------------------

# Keys of the advisory locks that take the requests of one mobile, and of one client, one at a time.
_MOBILE_LOCK, _CLIENT_LOCK = 0x5349474D, 0x53494743  # "SIGM", "SIGC"


def lock_sign_in_requests(session, mobile, client):
    """Hold the requests of ``mobile`` (and of ``client``, if any) until this transaction ends:
    two instances counting the same mobile's codes at once would both find room for one more."""
    if client is None:
        session.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_MOBILE_LOCK, mobile))
    else:
        # Mobile first, then client, in every transaction: no two can wait for each other.
        session.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s)), pg_advisory_xact_lock(%s, hashtext(%s))",
            (_MOBILE_LOCK, mobile, _CLIENT_LOCK, client),
        )


def sign_in_requests(session, mobile, mobile_since, client, client_since):
    """The instants of the codes sent to ``mobile`` after ``mobile_since`` and to ``client`` after
    ``client_since``: (by mobile, by client)."""
    rows = session.fetchall(
        "SELECT 'mobile' AS by, at FROM sign_in_requests WHERE mobile = %(mobile)s AND at > %(mobile_since)s"
        " UNION ALL"
        " SELECT 'client', at FROM sign_in_requests WHERE client = %(client)s AND at > %(client_since)s",
        {"mobile": mobile, "mobile_since": mobile_since, "client": client, "client_since": client_since},
    )
    return [r["at"] for r in rows if r["by"] == "mobile"], [r["at"] for r in rows if r["by"] == "client"]


def person_by_mobile(session, mobile):
    return session.fetchone(f"SELECT {PERSON_COLUMNS} FROM people p WHERE p.mobile = %s", (mobile,))


def replace_sign_in_code(session, code, now):
    """Record a code sent (``code``: mobile, client, person_id, code_digest, salt, expires_at) in
    place of the mobile's previous one, with the request that the limits count."""
    session.defer(
        "INSERT INTO sign_in_requests (mobile, client, at) VALUES (%(mobile)s, %(client)s, %(now)s)",
        {**code, "now": now},
    )
    session.defer(
        "INSERT INTO sign_in_codes (mobile, person_id, code_digest, salt, issued_at, expires_at)"
        " VALUES (%(mobile)s, %(person_id)s, %(code_digest)s, %(salt)s, %(now)s, %(expires_at)s)"
        " ON CONFLICT (mobile) DO UPDATE SET person_id = excluded.person_id, code_digest = excluded.code_digest,"
        " salt = excluded.salt, issued_at = excluded.issued_at, expires_at = excluded.expires_at, tries = 0,"
        " used_at = NULL",
        {**code, "now": now},
    )


def sign_in_code(session, mobile):
    """The mobile's current code, locked until this transaction ends (tries are counted one at a time)."""
    return session.fetchone(
        "SELECT person_id::text AS person_id, code_digest, salt, expires_at, tries, used_at FROM sign_in_codes"
        " WHERE mobile = %s FOR UPDATE",
        (mobile,),
    )


def count_wrong_try(session, mobile):
    session.defer("UPDATE sign_in_codes SET tries = tries + 1 WHERE mobile = %s", (mobile,))


def use_sign_in_code(session, mobile, now):
    session.defer("UPDATE sign_in_codes SET used_at = %s WHERE mobile = %s", (now, mobile))


def purge_sign_ins(session, requests_before, codes_before):
    """Delete the requests no limit counts any more and the codes that expired long ago; returns
    how many rows went."""
    requests = session.execute("DELETE FROM sign_in_requests WHERE at < %s", (requests_before,)).rowcount
    codes = session.execute("DELETE FROM sign_in_codes WHERE expires_at < %s", (codes_before,)).rowcount
    return requests + codes


# Statistics -------------------------------------------------------------------------------------


def counts(session, districts, today):
    """The register's counts in ``districts`` (None: all): merchants by district and status, open
    merchants by category, people by role, standing honours by kind, floating members (and those
    due for transfer on ``today``)."""
    scope = {"districts": districts}
    in_scope = "" if districts is None else " AND district_id = ANY(%(districts)s)"
    role_counts = ", ".join(f"count(*) FILTER (WHERE roles @> ARRAY['{role}']) AS {role}" for role in PERSON_ROLES)
    return {
        "by_district": session.fetchall(
            f"SELECT district_id, status, count(*) AS n FROM merchants WHERE true{in_scope} GROUP BY 1, 2", scope
        ),
        "by_category": session.fetchall(
            f"SELECT category, count(*) AS n FROM merchants WHERE status <> %(closed)s{in_scope} GROUP BY 1 ORDER BY 1",
            {**scope, "closed": CLOSED},
        ),
        "by_role": session.fetchone(f"SELECT {role_counts} FROM people WHERE true{in_scope}", scope),
        "by_honour": session.fetchall(
            "SELECT h.kind, count(*) AS n FROM honours h JOIN merchants m ON m.id = h.merchant_id"
            f" WHERE h.revoked_at IS NULL{in_scope.replace('district_id', 'm.district_id')} GROUP BY 1",
            scope,
        ),
        "floating": session.fetchone(
            "SELECT count(*) AS floating, count(*) FILTER (WHERE pm.transfer_due_on <= %(today)s) AS due"
            " FROM party_members pm JOIN organisations o ON o.id = pm.branch_id"
            f" WHERE pm.floating AND pm.transferred_in_on IS NULL{in_scope.replace('district_id', 'o.district_id')}",
            {**scope, "today": today},
        ),
        "transfers": session.fetchone(
            "SELECT count(*) FILTER (WHERE t.status = 'started') AS started,"
            " count(*) FILTER (WHERE t.status = 'declined') AS declined"
            " FROM member_transfers t JOIN organisations o ON o.id = t.from_branch_id"
            f" WHERE true{in_scope.replace('district_id', 'o.district_id')}",
            scope,
        ),
    }


# Internal systems (delegation) ------------------------------------------------------------------

SYSTEM_COLUMNS = (
    "s.id::text AS system_id, s.name, s.grants, s.kinds, s.districts, s.max_ttl, s.credential_digest,"
    " s.credential_issued_at, s.registered_at, s.registered_by, s.revoked_at, s.revoked_by, s.revoked_reason"
)


def system_name_taken(session, name):
    found = session.fetchone("SELECT 1 FROM internal_systems WHERE name = %s AND revoked_at IS NULL", (name,))
    return found is not None


def insert_system(session, limits, credential_digest, caller, now):
    return session.fetchone(
        "WITH s AS (INSERT INTO internal_systems (name, grants, kinds, districts, max_ttl, credential_digest,"
        " credential_issued_at, registered_at, registered_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" RETURNING *) SELECT {SYSTEM_COLUMNS} FROM s",
        (
            limits["name"],
            limits["grants"],
            limits["kinds"],
            limits["districts"],
            limits["max_ttl"],
            credential_digest,
            now,
            now,
            _actor(caller),
        ),
    )


def system(session, system_id, *, lock=False):
    return session.fetchone(
        f"SELECT {SYSTEM_COLUMNS} FROM internal_systems s WHERE s.id = %s" + (" FOR UPDATE" if lock else ""),
        (str(system_id),),
    )


def system_by_credential(session, credential_digest):
    return session.fetchone(
        f"SELECT {SYSTEM_COLUMNS} FROM internal_systems s WHERE s.credential_digest = %s", (credential_digest,)
    )


def systems(session, include_revoked):
    return session.fetchall(
        f"SELECT {SYSTEM_COLUMNS} FROM internal_systems s"
        + ("" if include_revoked else " WHERE s.revoked_at IS NULL")
        + " ORDER BY s.name, s.registered_at"
    )


def replace_system_credential(session, system_id, credential_digest, now):
    return session.fetchone(
        "WITH s AS (UPDATE internal_systems SET credential_digest = %s, credential_issued_at = %s WHERE id = %s"
        f" RETURNING *) SELECT {SYSTEM_COLUMNS} FROM s",
        (credential_digest, now, str(system_id)),
    )


def revoke_system(session, system_id, reason, caller, now):
    return session.fetchone(
        "WITH s AS (UPDATE internal_systems SET revoked_at = %s, revoked_by = %s, revoked_reason = %s WHERE id = %s"
        f" RETURNING *) SELECT {SYSTEM_COLUMNS} FROM s",
        (now, _actor(caller), reason, str(system_id)),
    )


# Points (党员积分) ------------------------------------------------------------------------------

POINTS_COLUMNS = (
    "e.id::text AS entry_id, e.seq, e.person_id::text AS person_id, e.points, e.kind, e.rule, e.source,"
    " e.source_event_id, e.source_entity_id, e.reason, e.branch_id, e.district_id,"
    " e.corrects_id::text AS corrects_id, e.created_at, e.actor"
)


def insert_points_entry(session, entry):
    """Add ``entry`` to the ledger; None if its ``award_key`` is there already (an award given)."""
    return session.fetchone(
        "WITH e AS (INSERT INTO points_entries (person_id, points, kind, rule, source, source_event_id,"
        " source_entity_id, reason, branch_id, district_id, corrects_id, created_at, actor, award_key)"
        " VALUES (%(person_id)s, %(points)s, %(kind)s, %(rule)s, %(source)s, %(source_event_id)s,"
        " %(source_entity_id)s, %(reason)s, %(branch_id)s, %(district_id)s, %(corrects_id)s, %(created_at)s,"
        " %(actor)s, %(award_key)s) ON CONFLICT (award_key) DO NOTHING RETURNING *)"
        f" SELECT {POINTS_COLUMNS} FROM e",
        entry,
    )


def points_entry(session, entry_id):
    return session.fetchone(f"SELECT {POINTS_COLUMNS} FROM points_entries e WHERE e.id = %s", (str(entry_id),))


def points_balance(session, person_id):
    """A member's balance and how many entries make it."""
    return session.fetchone(
        "SELECT coalesce(sum(points), 0)::int AS balance, count(*)::int AS entries FROM points_entries"
        " WHERE person_id = %s",
        (str(person_id),),
    )


def points_history(session, person_id, before, limit):
    """A member's entries, newest first, before the ledger position ``before`` (None: from the newest)."""
    where, params = ["e.person_id = %(person)s"], {"person": str(person_id), "limit": limit}
    if before is not None:
        where.append("e.seq < %(before)s")
        params["before"] = int(before)
    return session.fetchall(
        f"SELECT {POINTS_COLUMNS} FROM points_entries e" + _where(where) + " ORDER BY e.seq DESC LIMIT %(limit)s",
        params,
    )


def points_ranking(session, *, branch_id, districts, since, until, limit):
    """Members by the points of the entries made in ``branch_id`` (None: any) and ``districts``
    (None: all) from ``since`` to before ``until`` (either None: unbounded), most first (then by
    person id, a stable order for ties); each with their current branch and their name."""
    where, params = [], {"limit": limit}
    for column, value in (("e.branch_id = %(branch)s", branch_id), ("e.created_at >= %(since)s", since)):
        if value is not None:
            where.append(column)
    if until is not None:
        where.append("e.created_at < %(until)s")
    if districts is not None:
        where.append("e.district_id = ANY(%(districts)s)")
    params.update(branch=branch_id, since=since, until=until, districts=districts)
    return session.fetchall(
        "SELECT t.person_id::text AS person_id, p.name, pm.branch_id, t.points, t.entries FROM ("
        " SELECT e.person_id, sum(e.points)::int AS points, count(*)::int AS entries FROM points_entries e"
        + _where(where)
        + " GROUP BY e.person_id) t JOIN people p ON p.id = t.person_id"
        " JOIN party_members pm ON pm.person_id = t.person_id"
        " ORDER BY t.points DESC, t.person_id LIMIT %(limit)s",
        params,
    )
