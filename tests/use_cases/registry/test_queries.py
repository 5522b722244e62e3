"""The read side on a real session: searches scoped to the caller's districts and paged by cursors
that belong to their query, the audiences notifiers resolve, and the statistics."""

import uuid

import pytest

from alliance_platform.errors import Forbidden, ValidationError
from alliance_registry import queries, use_cases

from .conftest import merchant, staff
from .samples import merchant_fields, person_fields


def _all(register, query, caller=None, key="items", **filters):
    found, cursor = [], None
    while True:
        extra = {} if caller is None else {"caller": caller}
        page = register(query, **extra, **filters, limit=2, cursor=cursor)
        found += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_a_search_sees_the_callers_districts_only_and_finds_name_fragments(register):
    for name, district in [
        ("鑫盛五金批发部", "aodele"),
        ("鑫盛建材商行", "aodele"),
        ("盛世华庭", "outlets"),
        ("华联超市", "aodele"),
    ]:
        register(use_cases.register_merchant, **merchant_fields(shop_name=name, district_id=district))
    names = sorted(m["shop_name"] for m in _all(register, queries.search_merchants, name="盛"))
    assert names == ["盛世华庭", "鑫盛五金批发部", "鑫盛建材商行"]
    assert [m["shop_name"] for m in _all(register, queries.search_merchants, name="五金批发")] == ["鑫盛五金批发部"]
    assert [m["shop_name"] for m in _all(register, queries.search_merchants, name="盛五批")] == []
    aodele = staff("aodele")
    assert len(_all(register, queries.search_merchants, caller=aodele, name="盛")) == 2
    with pytest.raises(Forbidden):
        register(queries.search_merchants, caller=aodele, district_id="outlets")


def test_a_cursor_continues_only_the_query_it_came_from(register):
    for _ in range(3):
        register(use_cases.register_person, **person_fields(roles=["volunteer"]))
    first = register(queries.search_people, role="volunteer", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = register(queries.search_people, role="volunteer", limit=2, cursor=first["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {p["person_id"] for p in first["items"]}.isdisjoint(p["person_id"] for p in rest["items"])
    with pytest.raises(ValidationError, match="invalid cursor"):
        register(queries.search_people, role="staff", limit=2, cursor=first["next_cursor"])


def test_a_districts_audience_is_its_open_merchants_reached_through_their_owner_when_needed(register):
    owner = register(use_cases.register_person, **person_fields(language="en", district_id="aodele"))
    reached = register(
        use_cases.register_merchant, **merchant_fields(district_id="aodele", owner_id=owner["person_id"])
    )
    phoned = register(use_cases.register_merchant, **merchant_fields(district_id="aodele", contact_phone="13700000001"))
    closed = register(use_cases.register_merchant, **merchant_fields(district_id="outlets"))
    register(use_cases.register_merchant, **merchant_fields(district_id="outlets"))
    register(use_cases.set_merchant_status, merchant_id=closed["merchant_id"], status="closed")
    contacts = _all(register, queries.resolve_audience, key="contacts", districts=["outlets", "aodele"])
    assert len(contacts) == 3 and closed["merchant_id"] not in {c["id"] for c in contacts}
    assert [c["district_id"] for c in contacts] == ["aodele", "aodele", "outlets"]  # paged in district order
    by_id = {c["id"]: c for c in contacts}
    assert (by_id[reached["merchant_id"]]["mobile"], by_id[reached["merchant_id"]]["language"]) == (
        owner["mobile"],
        "en",
    )
    assert (by_id[phoned["merchant_id"]]["mobile"], by_id[phoned["merchant_id"]]["language"]) == (
        "13700000001",
        "zh-CN",
    )


def test_an_audience_of_ids_names_the_unknown_ones_and_refuses_records_outside_the_callers_districts(register):
    inside = register(use_cases.register_person, **person_fields(district_id="aodele"))
    outside = register(use_cases.register_person, **person_fields(district_id="outlets"))
    missing = str(uuid.uuid4())
    answer = register(queries.resolve_audience, caller=staff("aodele"), person_ids=[inside["person_id"], missing])
    assert [c["id"] for c in answer["contacts"]] == [inside["person_id"]] and answer["unknown_ids"] == [missing]
    with pytest.raises(Forbidden, match="outlets"):
        register(
            queries.resolve_audience, caller=staff("aodele"), person_ids=[inside["person_id"], outside["person_id"]]
        )


def test_a_role_or_teams_audience_is_its_people_in_the_callers_districts(register):
    here = register(use_cases.register_person, **person_fields(teams=["bank-liaisons"], roles=["staff"]))
    there = register(
        use_cases.register_person, **person_fields(district_id="aodele", teams=["bank-liaisons"], roles=["staff"])
    )
    ids = lambda answer: {c["id"] for c in answer["contacts"]}  # noqa: E731
    assert ids(register(queries.resolve_audience, team="bank-liaisons")) == {here["person_id"], there["person_id"]}
    assert ids(register(queries.resolve_audience, caller=staff("aodele"), team="bank-liaisons")) == {there["person_id"]}
    assert ids(register(queries.resolve_audience, caller=staff("wholesale_city"), role="staff")) == {here["person_id"]}
    with pytest.raises(Forbidden):
        register(queries.resolve_audience, caller=staff("aodele"), branch_id="branch_outlets")


def test_statistics_count_what_the_caller_may_see(register):
    for district, category in [("aodele", "餐饮"), ("aodele", "餐饮"), ("outlets", "鲜花绿植")]:
        register(use_cases.register_merchant, **merchant_fields(district_id=district, category=category))
    closed = register(use_cases.register_merchant, **merchant_fields(district_id="aodele", category="餐饮"))
    register(use_cases.set_merchant_status, merchant_id=closed["merchant_id"], status="closed")
    register(use_cases.register_person, **person_fields(roles=["volunteer"], district_id="aodele"))
    everything = register(queries.stats)
    assert everything["merchants_by_district"] == {"aodele": {"active": 2, "closed": 1}, "outlets": {"active": 1}}
    assert everything["merchants_by_category"] == {"餐饮": 2, "鲜花绿植": 1}  # open merchants only
    assert everything["people_by_role"]["volunteer"] == 1 and everything["as_of"] == register.now
    aodele = register(queries.stats, caller=staff("aodele"))
    assert aodele["merchants_by_district"] == {"aodele": {"active": 2, "closed": 1}}
    assert aodele["honours_by_kind"] == dict.fromkeys(aodele["honours_by_kind"], 0)


def test_a_merchant_reads_only_its_own_record_and_its_owners(register):
    owner = register(use_cases.register_person, **person_fields())
    stranger = register(use_cases.register_person, **person_fields())
    shop = register(use_cases.register_merchant, **merchant_fields(owner_id=owner["person_id"]))
    other = register(use_cases.register_merchant, **merchant_fields())
    me = merchant(shop)
    read = register(queries.get_merchant, caller=me, merchant_id=shop["merchant_id"], include_history=True)
    assert [h["action"] for h in read["history"]] == ["registered"]
    assert register(queries.get_person, caller=me, person_id=owner["person_id"])["person_id"] == owner["person_id"]
    for query, ref in (
        (queries.get_merchant, {"merchant_id": other["merchant_id"]}),
        (queries.get_person, {"person_id": stranger["person_id"]}),
    ):
        with pytest.raises(Forbidden):
            register(query, caller=me, **ref)
