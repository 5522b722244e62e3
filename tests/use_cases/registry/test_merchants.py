"""Merchant use cases on a real session: registration, changes, status moves, their events and
history, who may make them, and refusals that leave nothing behind."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_registry import queries, use_cases

from .conftest import ADMIN, merchant, staff
from .samples import credit_code, merchant_fields, person_fields

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def test_a_registration_is_announced_and_kept_in_the_history_with_its_actor(register):
    made = register(use_cases.register_merchant, **merchant_fields(unit_no="B2-117"))
    assert (made["version"], made["status"], made["unit_no"], made["owner_id"]) == (1, "active", "B2-117", None)
    ((event_type, payload),) = register.events()
    assert event_type == "merchant_registered" and payload["merchant_id"] == made["merchant_id"]
    (entry,) = register.history(made["merchant_id"])
    assert (entry["action"], entry["actor"]) == ("registered", f"staff:{ADMIN.subject}")
    assert entry["details"]["credit_code"] == made["credit_code"] and "version" not in entry["details"]


def test_registering_with_an_owner_makes_the_owner_a_merchant_owner(register):
    owner = register(use_cases.register_person, **person_fields())
    register(use_cases.register_merchant, **merchant_fields(owner_id=owner["person_id"]))
    assert register.event_types() == ["person_registered", "merchant_registered", "person_updated"]
    assert register.events("person_updated")[0][1]["roles"] == ["merchant_owner"]
    assert register.db("SELECT roles FROM people") == [{"roles": ["merchant_owner"]}]


@pytest.mark.parametrize(
    "fields, caller, refusal",
    [
        ({"owner_id": UNKNOWN}, ADMIN, ValidationError),
        ({"district_id": "outlets"}, staff("aodele"), Forbidden),
    ],
    ids=["unknown-owner", "outside-the-callers-districts"],
)
def test_a_refused_registration_writes_nothing(register, fields, caller, refusal):
    with pytest.raises(refusal):
        register(use_cases.register_merchant, caller=caller, **merchant_fields(**fields))
    assert (register.count("merchants"), register.count("outbox"), register.count("history")) == (0, 0, 0)


def test_a_credit_code_is_registered_once(register):
    code = credit_code()
    register(use_cases.register_merchant, **merchant_fields(credit_code=code))
    with pytest.raises(Conflict, match=code):
        register(use_cases.register_merchant, **merchant_fields(credit_code=code, shop_name="另一家"))
    assert (register.count("merchants"), register.count("outbox")) == (1, 1)


def test_an_update_changes_what_differs_by_one_version_and_names_the_fields(register):
    made = register(use_cases.register_merchant, **merchant_fields(unit_no="A1-001"))
    ref = {"merchant_id": made["merchant_id"]}
    updated = register(use_cases.update_merchant, **ref, unit_no="A1-001", category="日用百货", expected_version=1)
    assert (updated["version"], updated["category"]) == (2, "日用百货")
    assert register.events("merchant_updated")[0][1]["changed"] == ["category"]
    assert register(use_cases.update_merchant, **ref, category="日用百货") == updated  # nothing differs
    assert [a["action"] for a in register.history(made["merchant_id"])] == ["registered", "updated"]
    with pytest.raises(Conflict, match="version 2, not 1"):
        register(use_cases.update_merchant, **ref, expected_version=1, shop_name="新名")
    with pytest.raises(NotFound):
        register(use_cases.update_merchant, merchant_id=UNKNOWN, shop_name="新名")
    assert register.event_types() == ["merchant_registered", "merchant_updated"]


def test_moving_a_merchant_to_another_owner_moves_the_owner_role(register):
    first = register(use_cases.register_person, **person_fields(name="甲"))
    second = register(use_cases.register_person, **person_fields(name="乙"))
    made = register(use_cases.register_merchant, **merchant_fields(owner_id=first["person_id"]))
    register(use_cases.update_merchant, merchant_id=made["merchant_id"], owner_id=second["person_id"])
    roles = {r["name"]: r["roles"] for r in register.db("SELECT name, roles FROM people")}
    assert roles == {"甲": [], "乙": ["merchant_owner"]}
    register(use_cases.update_merchant, merchant_id=made["merchant_id"], owner_id=None)
    assert register.db("SELECT roles FROM people WHERE name = '乙'") == [{"roles": []}]


def test_a_merchant_changes_only_its_own_plain_details(register):
    mine = register(use_cases.register_merchant, **merchant_fields(district_id="aodele"))
    other = register(use_cases.register_merchant, **merchant_fields(district_id="outlets"))
    me = merchant(mine)
    changed = register(
        use_cases.update_merchant, caller=me, merchant_id=mine["merchant_id"], contact_phone="13900000009"
    )
    assert changed["contact_phone"] == "13900000009"
    for refused in (
        {"merchant_id": mine["merchant_id"], "district_id": "outlets"},
        {"merchant_id": mine["merchant_id"], "owner_id": None},
        {"merchant_id": other["merchant_id"], "shop_name": "抢注"},
    ):
        with pytest.raises(Forbidden):
            register(use_cases.update_merchant, caller=me, **refused)
    with pytest.raises(Forbidden):
        register(queries.get_merchant, caller=me, merchant_id=other["merchant_id"])
    assert register.db("SELECT version FROM merchants ORDER BY district_id") == [{"version": 2}, {"version": 1}]


def test_staff_move_a_merchant_only_between_their_districts(register):
    made = register(use_cases.register_merchant, **merchant_fields(district_id="aodele"))
    with pytest.raises(Forbidden):
        register(
            use_cases.update_merchant, caller=staff("aodele"), merchant_id=made["merchant_id"], district_id="outlets"
        )
    moved = register(
        use_cases.update_merchant,
        caller=staff("aodele", "outlets"),
        merchant_id=made["merchant_id"],
        district_id="outlets",
    )
    assert moved["district_id"] == "outlets"


@pytest.mark.parametrize(
    "moves, refused",
    [
        (["suspended", "active", "closed"], None),
        (["suspended", "closed"], None),
        (["suspended", "suspended"], "already suspended"),
        (["active"], "already active"),
        (["closed", "active"], "a closed merchant cannot become active"),
        (["closed", "suspended"], "a closed merchant cannot become suspended"),
    ],
)
def test_status_moves_follow_the_rules_and_a_refused_one_changes_nothing(register, moves, refused):
    made = register(use_cases.register_merchant, **merchant_fields())
    *allowed, last = moves
    for status in allowed:
        register(use_cases.set_merchant_status, merchant_id=made["merchant_id"], status=status, reason="检查")
    if refused:
        with pytest.raises(Conflict, match=refused):
            register(use_cases.set_merchant_status, merchant_id=made["merchant_id"], status=last)
    else:
        allowed.append(last)
        register(use_cases.set_merchant_status, merchant_id=made["merchant_id"], status=last)
    changes = register.events("merchant_status_changed")
    trail = ["active", *allowed]
    assert [(p["old_status"], p["status"], p["version"]) for _, p in changes] == [
        (trail[n], trail[n + 1], n + 2) for n in range(len(allowed))
    ]
    assert register.db("SELECT status, version FROM merchants") == [{"status": trail[-1], "version": len(trail)}]
    moves_kept = [h["details"] for h in register.history(made["merchant_id"]) if h["action"] == "status_changed"]
    assert [(d["from"], d["to"]) for d in moves_kept] == list(zip(trail, trail[1:], strict=False))


def test_only_staff_of_the_merchants_district_change_its_status(register):
    made = register(use_cases.register_merchant, **merchant_fields(district_id="outlets"))
    with pytest.raises(Forbidden):
        register(
            use_cases.set_merchant_status, caller=staff("aodele"), merchant_id=made["merchant_id"], status="closed"
        )
    assert register.event_types() == ["merchant_registered"]
