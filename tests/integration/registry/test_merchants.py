"""Merchants: register, update, status with history, read, search — over the real broker."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.use_cases.registry.samples import credit_code, merchant_fields, person_fields


def test_register_update_and_read_a_merchant_with_its_history_and_events(registry):
    with registry.admin() as alliance:
        owner = alliance.registry.register_person(**person_fields(name="李红"))
        merchant = alliance.registry.register_merchant(**merchant_fields(owner_id=owner["person_id"]))
        assert merchant["owner_id"] == owner["person_id"] and merchant["version"] == 1
        updated = alliance.registry.update_merchant(
            merchant_id=merchant["merchant_id"], expected_version=1, contact_phone="13900000001", unit_no="C1-002"
        )
        assert (updated["version"], updated["contact_phone"], updated["unit_no"]) == (2, "13900000001", "C1-002")
        # The same change again changes nothing: no new version, no event.
        assert alliance.registry.update_merchant(merchant_id=merchant["merchant_id"], unit_no="C1-002") == updated
        read = alliance.registry.get_merchant(merchant_id=merchant["merchant_id"], include_history=True)
        assert alliance.registry.get_person(person_id=owner["person_id"])["roles"] == ["merchant_owner"]
    assert [entry["action"] for entry in read.pop("history")] == ["registered", "updated"]
    assert read == updated
    received = registry.events()
    assert [t for t, _ in received] == [
        "person_registered",
        "merchant_registered",
        "person_updated",
        "merchant_updated",
    ]
    assert received[3][1]["changed"] == ["contact_phone", "unit_no"] and received[3][1]["version"] == 2
    assert registry.db("SELECT actor FROM history WHERE aggregate_type = 'merchant'")[0]["actor"] == "staff:admin-1"


def test_status_changes_follow_the_rules_and_are_kept(registry):
    with registry.admin() as alliance:
        merchant = alliance.registry.register_merchant(**merchant_fields())
        ref = {"merchant_id": merchant["merchant_id"]}
        alliance.registry.set_merchant_status(**ref, status="suspended", reason="停业装修")
        with pytest.raises(Conflict):
            alliance.registry.set_merchant_status(**ref, status="suspended")
        alliance.registry.set_merchant_status(**ref, status="active")
        closed = alliance.registry.set_merchant_status(**ref, status="closed", reason="迁出")
        with pytest.raises(Conflict):
            alliance.registry.set_merchant_status(**ref, status="active")
        with pytest.raises(ValidationError):
            alliance.registry.set_merchant_status(**ref, status="sleeping")
        history = alliance.registry.get_merchant(**ref, include_history=True)["history"]
    assert closed["status"] == "closed" and closed["version"] == 4
    assert [(h["details"]["from"], h["details"]["to"]) for h in history if h["action"] == "status_changed"] == [
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "closed"),
    ]
    assert registry.event_types() == ["merchant_registered"] + ["merchant_status_changed"] * 3
    changes = registry.payloads("merchant_status_changed")
    assert [(c["old_status"], c["status"], c["version"]) for c in changes] == [
        ("active", "suspended", 2),
        ("suspended", "active", 3),
        ("active", "closed", 4),
    ]


def test_bad_updates_are_refused_and_nothing_is_written(registry):
    with registry.admin() as alliance:
        merchant = alliance.registry.register_merchant(**merchant_fields())
        ref = {"merchant_id": merchant["merchant_id"]}
        for bad in (
            {},  # nothing to change
            {"contact_phone": "12345"},
            {"district_id": "moon"},
            {"owner_id": "00000000-0000-0000-0000-000000000000"},
            {"online_shop_url": "ftp://shop"},
            {"colour": "red"},
        ):
            with pytest.raises(ValidationError):
                alliance.registry.update_merchant(**ref, **bad)
        with pytest.raises(Conflict):
            alliance.registry.update_merchant(**ref, expected_version=7, shop_name="新名")
        with pytest.raises(NotFound):
            alliance.registry.update_merchant(merchant_id="00000000-0000-0000-0000-000000000000", shop_name="新名")
    assert registry.db("SELECT version, shop_name FROM merchants") == [{"version": 1, "shop_name": "鑫盛五金批发部"}]
    assert registry.db("SELECT count(*) AS n FROM outbox")[0]["n"] == 1


def test_who_may_change_and_read_a_merchant(registry):
    with registry.admin() as alliance:
        mine = alliance.registry.register_merchant(**merchant_fields(district_id="aodele"))
        other = alliance.registry.register_merchant(**merchant_fields(district_id="outlets"))
    with registry.merchant(mine["merchant_id"], district="aodele") as alliance:
        assert alliance.registry.update_merchant(merchant_id=mine["merchant_id"], shop_name="新名")["version"] == 2
        with pytest.raises(Forbidden):
            alliance.registry.update_merchant(merchant_id=mine["merchant_id"], district_id="outlets")
        with pytest.raises(Forbidden):
            alliance.registry.update_merchant(merchant_id=other["merchant_id"], shop_name="抢注")
        with pytest.raises(Forbidden):
            alliance.registry.get_merchant(merchant_id=other["merchant_id"])
        with pytest.raises(Forbidden):
            alliance.registry.set_merchant_status(merchant_id=mine["merchant_id"], status="closed")
        with pytest.raises(Forbidden):
            alliance.registry.search_merchants(name="新")
    with registry.staff("aodele") as alliance:
        assert alliance.registry.get_merchant(merchant_id=mine["merchant_id"])["shop_name"] == "新名"
        with pytest.raises(Forbidden):
            alliance.registry.get_merchant(merchant_id=other["merchant_id"])
        with pytest.raises(Forbidden):
            alliance.registry.update_merchant(merchant_id=mine["merchant_id"], district_id="outlets")
        with pytest.raises(Forbidden):
            alliance.registry.set_merchant_status(merchant_id=other["merchant_id"], status="suspended")
    with registry.staff("aodele", roles=("volunteer",)) as alliance, pytest.raises(Forbidden):
        alliance.registry.register_merchant(**merchant_fields(district_id="aodele"))
    assert registry.db("SELECT shop_name, district_id, status FROM merchants ORDER BY district_id") == [
        {"shop_name": "新名", "district_id": "aodele", "status": "active"},
        {"shop_name": "鑫盛五金批发部", "district_id": "outlets", "status": "active"},
    ]


def _all_pages(search, **filters):
    found, cursor, pages = [], None, 0
    while True:
        result = search(**filters, limit=2, cursor=cursor)
        found += result["items"]
        pages += 1
        cursor = result["next_cursor"]
        if cursor is None:
            return found, pages


def test_search_by_name_fragment_and_filters_pages_with_a_stable_cursor(registry):
    names = ["鑫盛五金批发部", "鑫盛建材商行", "华联超市", "盛世华庭鲜花", "Apple 数码专营店"]
    with registry.admin() as alliance:
        made = {
            name: alliance.registry.register_merchant(
                **merchant_fields(shop_name=name, district_id=district, category=category)
            )
            for name, district, category in zip(
                names,
                ["wholesale_city", "wholesale_city", "aodele", "outlets", "aodele"],
                ["五金建材", "五金建材", "日用百货", "鲜花绿植", "数码电器"],
                strict=True,
            )
        }
        search = alliance.registry.search_merchants

        def names_of(**filters):
            found, _ = _all_pages(search, **filters)
            return sorted(m["shop_name"] for m in found)

        assert names_of(name="盛") == ["盛世华庭鲜花", "鑫盛五金批发部", "鑫盛建材商行"]
        assert names_of(name="鑫盛") == ["鑫盛五金批发部", "鑫盛建材商行"]
        assert names_of(name="五金批发") == ["鑫盛五金批发部"]
        assert names_of(name="金批") == ["鑫盛五金批发部"]
        assert names_of(name="盛五批") == []  # all its bigrams' characters occur, not the fragment
        assert names_of(name="apple") == ["Apple 数码专营店"]
        assert names_of(name="华", district_id="aodele") == ["华联超市"]
        assert names_of(category="五金建材") == ["鑫盛五金批发部", "鑫盛建材商行"]
        assert names_of(credit_code=made["华联超市"]["credit_code"]) == ["华联超市"]
        assert names_of(name="100%") == []
        found, pages = _all_pages(search)
        assert len(found) == 5 and pages == 3 and len({m["merchant_id"] for m in found}) == 5

        first = search(limit=2)
        with pytest.raises(ValidationError):
            search(limit=2, cursor=first["next_cursor"], category="五金建材")  # another query's cursor
        with pytest.raises(ValidationError):
            search(cursor="not-a-cursor")
        with pytest.raises(ValidationError):
            search(limit=1000)
        with pytest.raises(ValidationError):
            search(name="")
    with registry.staff("aodele") as alliance:
        found, _ = _all_pages(alliance.registry.search_merchants, name="华")
        assert sorted(m["shop_name"] for m in found) == ["华联超市"]
        with pytest.raises(Forbidden):
            alliance.registry.search_merchants(district_id="outlets")


def test_duplicate_credit_code_is_a_conflict(registry):
    code = credit_code()
    with registry.admin() as alliance:
        alliance.registry.register_merchant(**merchant_fields(credit_code=code))
        with pytest.raises(Conflict):
            alliance.registry.register_merchant(**merchant_fields(credit_code=code, shop_name="另一家"))
        with pytest.raises(ValidationError):
            alliance.registry.register_merchant(**merchant_fields(owner_id="00000000-0000-0000-0000-000000000000"))
