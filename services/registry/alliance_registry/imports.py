"""``import_merchants``: a roster imported whole or not at all, idempotent by credit code.

Every row is checked before anything is written: the file's own rules (roster.py), then the
register's (districts, the caller's scope, owners' mobiles already taken by someone else). One bad
row rejects the roster with every row's errors listed. A roster that passes is applied in the
use case's one transaction: new merchants registered, changed ones updated, identical ones left
alone, so importing the same roster again changes nothing.
"""

from alliance_platform.errors import ValidationError

from . import merchants, people, roster
from .records import remember_many

# Roster fields that map straight to merchant columns.
FIELDS = ("shop_name", "district_id", "unit_no", "category", "contact_phone", "online_shop_url")
CHUNK = 1000  # rows per bulk statement: bounded memory and statement size


def import_merchants(session, caller, cmd, now, vault):
    rows = roster.read(cmd["content"], cmd["format"])
    districts = {}
    for district in session.fetchall("SELECT id, name FROM districts"):
        districts[district["id"]] = districts[district["name"]] = district["id"]
    valid, errors = roster.check(rows, districts)
    existing = _existing_merchants(session, [row["credit_code"] for _, row in valid])
    owners = _existing_owners(session, [row["owner_mobile"] for _, row in valid if row["owner_mobile"]])
    plan = {"create": [], "update": [], "unchanged": 0}
    for number, row in valid:
        problems = _check_against_register(caller, row, existing, owners)
        if problems:
            errors.append({"row": number, "credit_code": row["credit_code"], "errors": problems})
            continue
        current = existing.get(row["credit_code"])
        if current is None:
            plan["create"].append(row)
        elif _differences(current, row, owners):
            plan["update"].append((current, row))
        else:
            plan["unchanged"] += 1
    if errors:
        errors.sort(key=lambda error: error["row"])
        raise ValidationError(f"{len(errors)} of {len(rows)} rows rejected; nothing was imported", {"rows": errors})
    new_owners = {}
    for row in plan["create"] + [row for _, row in plan["update"]]:
        if row["owner_mobile"] and row["owner_mobile"] not in owners:
            new_owners.setdefault(row["owner_mobile"], row)
    report = {
        "status": "validated" if cmd["dry_run"] else "imported",
        "rows": len(rows),
        "created": len(plan["create"]),
        "updated": len(plan["update"]),
        "unchanged": plan["unchanged"],
        "owners_registered": len(new_owners),
    }
    if cmd["dry_run"]:
        return report
    # People already registered who now own a new merchant gain the merchant-owner role.
    promoted = {owners[row["owner_mobile"]]["id"] for row in plan["create"] if row["owner_mobile"] in owners}
    owners.update(_register_owners(session, caller, list(new_owners.values()), now, vault))
    _register_merchants(session, caller, plan["create"], owners, now)
    for owner_id in sorted(promoted):
        people.refresh_roles(session, caller, owner_id, now)
    for current, row in plan["update"]:
        locked = merchants.load(session, current["merchant_id"], lock=True)
        merchants.apply_changes(session, caller, locked, _differences(locked, row, owners), now)
    return report


def _existing_merchants(session, credit_codes):
    found = {}
    for start in range(0, len(credit_codes), CHUNK):
        for merchant in session.fetchall(
            f"SELECT {merchants.COLUMNS} FROM merchants m WHERE m.credit_code = ANY(%s)",
            (credit_codes[start : start + CHUNK],),
        ):
            found[merchant["credit_code"]] = merchant
    return found


def _existing_owners(session, mobiles):
    found = {}
    for start in range(0, len(mobiles), CHUNK):
        for person in session.fetchall(
            "SELECT id::text, name, mobile FROM people WHERE mobile = ANY(%s)", (mobiles[start : start + CHUNK],)
        ):
            found[person["mobile"]] = person
    return found


def _check_against_register(caller, row, existing, owners):
    problems = {}
    if not caller.covers_district(row["district_id"]):
        problems["district"] = [f"outside the districts you act for: {row['district_id']}"]
    current = existing.get(row["credit_code"])
    if current is not None and not caller.covers_district(current["district_id"]):
        problems["credit_code"] = [f"registered in {current['district_id']}, outside the districts you act for"]
    owner = owners.get(row["owner_mobile"])
    if owner is not None and owner["name"] != row["owner_name"]:
        problems["owner_mobile"] = ["this mobile belongs to a registered person of another name"]
    return problems


def _differences(current, row, owners):
    wanted = {field: row[field] for field in FIELDS}
    if row["owner_mobile"]:
        owner = owners.get(row["owner_mobile"])
        wanted["owner_id"] = owner["id"] if owner else "new"
    return {k: v for k, v in wanted.items() if current.get(k) != v}


def _register_owners(session, caller, rows, now, vault):
    """New owners, each registered as a person with the merchant-owner role; {mobile: person}."""
    registered = {}
    for row in rows:
        person = people.insert_person(
            session,
            {
                "name": row["owner_name"],
                "mobile": row["owner_mobile"],
                "roles": ["merchant_owner"],
                "skills": [],
                "language": "zh-CN",
                "district_id": row["district_id"],
            },
            now,
            vault,
        )
        session.publish(
            "person_registered", {**people.event_state(person), "registered_at": now}, aggregate_id=person["person_id"]
        )
        registered[person["mobile"]] = {"id": person["person_id"], "name": person["name"], "mobile": person["mobile"]}
    remember_many(
        session,
        [
            ("person", p["id"], "registered", {"name": p["name"], "mobile": p["mobile"], "source": "import"})
            for p in registered.values()
        ],
        caller,
        now,
    )
    return registered


def _register_merchants(session, caller, rows, owners, now):
    created = []
    with session.connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            cursor.executemany(
                "INSERT INTO merchants AS m (shop_name, district_id, unit_no, category, credit_code, contact_phone,"
                " online_shop_url, owner_id, created_at, updated_at) VALUES (%(shop_name)s, %(district_id)s,"
                " %(unit_no)s, %(category)s, %(credit_code)s, %(contact_phone)s, %(online_shop_url)s, %(owner_id)s,"
                f" %(now)s, %(now)s) RETURNING {merchants.COLUMNS}",
                [
                    {**row, "owner_id": owners[row["owner_mobile"]]["id"] if row["owner_mobile"] else None, "now": now}
                    for row in chunk
                ],
                returning=True,
            )
            while True:
                created.extend(cursor.fetchall())
                if not cursor.nextset():
                    break
    for merchant in created:
        session.publish("merchant_registered", merchant, aggregate_id=merchant["merchant_id"])
    remember_many(
        session,
        [("merchant", m["merchant_id"], "registered", {**merchants.state(m), "source": "import"}) for m in created],
        caller,
        now,
    )
