"""Districts, organisations, audiences (the contacts to notify) and statistics."""

import pytest

from alliance_platform.errors import Forbidden, Unauthenticated, ValidationError
from alliance_platform.rpc import AllianceClient
from tests.use_cases.registry.samples import merchant_fields, person_fields


def test_districts_and_the_organisation_tree(registry):
    with registry.merchant("m-1") as alliance:  # any verified caller
        assert [d["id"] for d in alliance.registry.list_districts()] == ["aodele", "outlets", "wholesale_city"]
        branches = alliance.registry.list_organisations(type="party_branch")
        children = alliance.registry.list_organisations(parent_id="alliance")
        everything = alliance.registry.list_organisations()
        with pytest.raises(ValidationError):
            alliance.registry.list_organisations(type="club")
    assert {b["district_id"] for b in branches} == {"wholesale_city", "aodele", "outlets"}
    assert {c["id"] for c in children} == {b["id"] for b in branches}
    assert everything[0]["parent_id"] is None and len(everything) == 6


def test_unauthenticated_callers_get_nothing(registry, rabbit_config):
    with AllianceClient(rabbit_config["AMQP_URI"], None, timeout=5) as alliance, pytest.raises(Unauthenticated):
        alliance.registry.list_districts()


def _contacts(resolve, **audience):
    contacts, cursor, pages = [], None, 0
    while True:
        result = resolve(**audience, limit=3, cursor=cursor)
        contacts += result["contacts"]
        pages += 1
        cursor = result["next_cursor"]
        if cursor is None:
            return contacts, pages, result["unknown_ids"]


def test_resolve_audience_pages_through_contacts(registry):
    with registry.admin() as alliance:
        owner = alliance.registry.register_person(**person_fields(language="en", district_id="aodele"))
        alliance.registry.register_party_member(
            person_id=owner["person_id"], branch_id="branch_aodele", joined_on="2001-07-01"
        )
        made = [
            alliance.registry.register_merchant(
                **merchant_fields(
                    district_id=district,
                    owner_id=owner["person_id"] if n == 0 else None,
                    contact_phone=None if n == 0 else f"1370000000{n}",
                )
            )
            for n, district in enumerate(["aodele"] * 4 + ["outlets"] * 3 + ["wholesale_city"] * 2)
        ]
        alliance.registry.set_merchant_status(merchant_id=made[1]["merchant_id"], status="closed")
        resolve = alliance.registry.resolve_audience

        contacts, pages, _ = _contacts(resolve, districts=["aodele", "outlets"])
        assert len(contacts) == 6 and pages == 2  # 4 + 3, less the closed one
        assert len({c["id"] for c in contacts}) == 6
        first = next(c for c in contacts if c["id"] == made[0]["merchant_id"])
        assert (first["mobile"], first["language"], first["person_id"]) == (owner["mobile"], "en", owner["person_id"])

        members, _, _ = _contacts(resolve, branch_id="branch_aodele")
        assert [(c["kind"], c["id"]) for c in members] == [("person", owner["person_id"])]
        owners, _, _ = _contacts(resolve, role="merchant_owner")
        assert [c["id"] for c in owners] == [owner["person_id"]]
        missing = "00000000-0000-0000-0000-000000000000"
        listed, _, unknown = _contacts(resolve, merchant_ids=[made[2]["merchant_id"], missing])
        assert [c["id"] for c in listed] == [made[2]["merchant_id"]] and unknown == [missing]

        for bad in ({}, {"districts": ["aodele"], "role": "staff"}, {"role": "king"}, {"branch_id": "alliance"}):
            with pytest.raises(ValidationError):
                resolve(**bad)
    with registry.staff("aodele") as alliance:
        resolve = alliance.registry.resolve_audience
        assert len(_contacts(resolve, districts=["aodele"])[0]) == 3
        with pytest.raises(Forbidden):
            resolve(districts=["aodele", "outlets"])
        with pytest.raises(Forbidden):
            resolve(merchant_ids=[made[5]["merchant_id"]])
        with pytest.raises(Forbidden):
            resolve(branch_id="branch_outlets")


def test_stats_count_by_district_category_role_and_honour(registry):
    with registry.admin() as alliance:
        for district, category in [("aodele", "餐饮"), ("aodele", "餐饮"), ("outlets", "鲜花绿植")]:
            alliance.registry.register_merchant(**merchant_fields(district_id=district, category=category))
        alliance.registry.register_person(**person_fields(roles=["staff", "volunteer"], district_id="aodele"))
        everything = alliance.registry.stats()
        with pytest.raises(ValidationError):
            alliance.registry.stats(district_id="aodele")
    with registry.staff("aodele") as alliance:
        aodele = alliance.registry.stats()
    assert everything["merchants_by_district"] == {"aodele": {"active": 2}, "outlets": {"active": 1}}
    assert everything["merchants_by_category"] == {"餐饮": 2, "鲜花绿植": 1}
    assert everything["people_by_role"]["volunteer"] == 1 and everything["people_by_role"]["party_member"] == 0
    assert aodele["merchants_by_district"] == {"aodele": {"active": 2}}
    assert aodele["merchants_by_category"] == {"餐饮": 2}
