"""A filter naming a district, a kind or a year the alliance does not have is a ``ValidationError``
on that field — not an empty answer that looks like "nobody" — and every text and list a caller
stores has its bound."""

import pytest

from alliance_platform.errors import ValidationError
from alliance_platform.inputs import DISTRICT_IDS
from tests.use_cases.registry.samples import merchant_fields, person_fields


def test_the_register_s_districts_are_the_districts_inputs_are_checked_against(registry):
    with registry.admin() as alliance:
        assert sorted(d["id"] for d in alliance.registry.list_districts()) == sorted(DISTRICT_IDS)


@pytest.mark.parametrize(
    "method, filters, field",
    [
        ("search_people", {"district_id": "atlantis"}, "district_id"),
        ("search_people", {"role": "king"}, "role"),
        ("search_merchants", {"district_id": "atlantis"}, "district_id"),
        ("search_merchants", {"status": "dormant"}, "status"),
        ("search_merchants", {"honour": "gold_medal"}, "honour"),
        ("resolve_audience", {"districts": ["atlantis"]}, "districts"),
        ("resolve_audience", {"districts": ["aodele", "atlantis"]}, "districts"),
        ("resolve_audience", {"branch_id": "branch_atlantis"}, "branch_id"),
        ("list_honours", {"year": -1}, "year"),
        ("list_honours", {"year": 1999}, "year"),
        ("list_honours", {"year": 2101}, "year"),
        ("list_honours", {"kind": "gold_medal"}, "kind"),
        ("list_organisations", {"parent_id": "atlantis"}, "parent_id"),
        ("list_organisations", {"type": "club"}, "type"),
    ],
)
def test_a_filter_outside_what_the_alliance_has_is_refused_naming_the_field(registry, method, filters, field):
    with registry.admin() as alliance:
        alliance.registry.register_merchant(**merchant_fields())  # there is something to find
        with pytest.raises(ValidationError) as refused:
            getattr(alliance.registry, method)(**filters)
    assert field in refused.value.fields


def test_filters_inside_what_the_alliance_has_still_find_nothing_when_nothing_matches(registry):
    with registry.admin() as alliance:
        assert alliance.registry.search_merchants(district_id="outlets")["items"] == []
        assert alliance.registry.list_honours(year=2026)["items"] == []
        assert alliance.registry.list_organisations(parent_id="branch_aodele") == []


@pytest.mark.parametrize(
    "change, field",
    [
        ({"district_id": "atlantis"}, "district_id"),
        ({"online_shop_url": "https://shop.example.cn/" + "x" * 100_000}, "online_shop_url"),
        ({"online_shop_url": "https://shop.example.cn/" + "x" * 2030}, "online_shop_url"),
        ({"online_shop_url": "ftp://shop.example.cn/"}, "online_shop_url"),
        ({"shop_name": "店" * 101}, "shop_name"),
        ({"unit_no": "B" * 41}, "unit_no"),
    ],
)
def test_a_merchant_s_fields_have_their_bounds(registry, change, field):
    with registry.admin() as alliance:
        with pytest.raises(ValidationError) as refused:
            alliance.registry.register_merchant(**merchant_fields(**change))
        assert field in refused.value.fields
        merchant = alliance.registry.register_merchant(**merchant_fields())
        with pytest.raises(ValidationError) as refused:
            alliance.registry.update_merchant(merchant_id=merchant["merchant_id"], **change)
        assert field in refused.value.fields
    assert registry.db("SELECT version FROM merchants") == [{"version": 1}]


def test_a_url_as_long_as_browsers_take_is_kept(registry):
    url = "https://shop.example.cn/" + "x" * (2048 - len("https://shop.example.cn/"))
    with registry.admin() as alliance:
        assert alliance.registry.register_merchant(**merchant_fields(online_shop_url=url))["online_shop_url"] == url


@pytest.mark.parametrize(
    "change, field",
    [
        ({"district_id": "atlantis"}, "district_id"),
        ({"roles": ["staff"] * 5}, "roles"),
        ({"skills": ["电商"] * 21}, "skills"),
        ({"name": "王" * 51}, "name"),
    ],
)
def test_a_person_s_fields_have_their_bounds(registry, change, field):
    with registry.admin() as alliance:
        with pytest.raises(ValidationError) as refused:
            alliance.registry.register_person(**person_fields(**change))
        assert field in refused.value.fields
        person = alliance.registry.register_person(**person_fields())
        with pytest.raises(ValidationError) as refused:
            alliance.registry.update_person(person_id=person["person_id"], **change)
        assert field in refused.value.fields
    assert registry.db("SELECT version FROM people") == [{"version": 1}]


def test_names_of_branches_and_awarding_bodies_are_bounded(registry):
    with registry.admin() as alliance:
        person = alliance.registry.register_person(**person_fields())
        merchant = alliance.registry.register_merchant(**merchant_fields())
        with pytest.raises(ValidationError) as refused:
            alliance.registry.register_party_member(
                person_id=person["person_id"], branch_id="b" * 10_000, joined_on="2005-07-01"
            )
        assert "branch_id" in refused.value.fields
        with pytest.raises(ValidationError) as refused:
            alliance.registry.award_honour(
                merchant_id=merchant["merchant_id"],
                kind="party_member_business_plaque",
                reason="诚信经营",
                awarded_by="a" * 10_000,
            )
        assert "awarded_by" in refused.value.fields
