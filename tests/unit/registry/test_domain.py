"""The registry's rules, driven without a database or a broker."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_platform.identity import Identity
from alliance_registry.domain import access, days, honours, membership, merchants, paging, people, search


@pytest.mark.parametrize(
    "old, new, allowed",
    [
        ("active", "suspended", True),
        ("suspended", "active", True),
        ("active", "closed", True),
        ("suspended", "closed", True),
        ("closed", "active", False),
        ("active", "active", False),
    ],
)
def test_merchant_status_transitions(old, new, allowed):
    if allowed:
        merchants.check_status_change(old, new)
    else:
        with pytest.raises(Conflict):
            merchants.check_status_change(old, new)


@pytest.mark.parametrize(
    "arrived, due",
    [
        (date(2026, 2, 10), date(2026, 8, 10)),
        (date(2025, 8, 31), date(2026, 2, 28)),  # no 31 February: the month's end
        (date(2023, 8, 31), date(2024, 2, 29)),
        (date(2026, 9, 15), date(2027, 3, 15)),  # across the year
    ],
)
def test_a_floating_member_is_due_for_transfer_six_calendar_months_after_arrival(arrived, due):
    assert membership.transfer_due_on(arrived) == due


def test_party_age_counts_whole_years():
    assert membership.party_age(date(2008, 7, 1), date(2026, 6, 30)) == 17
    assert membership.party_age(date(2008, 7, 1), date(2026, 7, 1)) == 18


def test_the_day_is_a_day_in_china():
    assert days.today(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_honour_rules():
    honours.check_honour("star_party_member_merchant", 5, 2026)
    honours.check_honour("party_member_business_plaque", None, None)
    with pytest.raises(ValidationError) as caught:
        honours.check_honour("star_party_member_merchant", None, None)
    assert set(caught.value.fields) == {"stars", "year"}
    with pytest.raises(ValidationError):
        honours.check_honour("party_member_model_store", 3, 2026)


def _sql_name_grams(name):
    """What the SQL function ``name_grams`` stores (its definition, in Python)."""
    text = name.lower()
    return {text[i] for i in range(len(text))} | {text[i : i + 2] for i in range(len(text) - 1)}


names = st.text(alphabet="王李张伟芳建国华盛鑫五金ab ", min_size=1, max_size=8)


@given(names, names)
def test_the_name_grams_of_a_fragment_find_every_name_containing_it(name, fragment):
    grams, exact = search.name_grams(fragment)
    contained = fragment.lower() in name.lower()
    if contained:
        assert set(grams) <= _sql_name_grams(name)
    if exact:
        assert (set(grams) <= _sql_name_grams(name)) == contained


def test_like_patterns_escape_wildcards():
    assert search.like_pattern("100%_a\\") == "%100\\%\\_a\\\\%"


@given(st.uuids(), st.dictionaries(st.sampled_from(["name", "district_id"]), st.text(max_size=5)))
def test_a_cursor_round_trips_for_its_own_query_only(last_id, query):
    cursor = paging.encode_cursor(last_id, query)
    assert paging.decode_cursor(cursor, query) == str(last_id)
    with pytest.raises(ValidationError):
        paging.decode_cursor(cursor, {**query, "category": "other"})


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "eyJ4IjogMX0"])
def test_a_forged_cursor_is_refused(cursor):
    with pytest.raises(ValidationError):
        paging.decode_cursor(cursor, {})


def test_paging_fetches_one_more_to_know_there_is_a_next_page():
    rows = [{"id": n} for n in range(4)]
    first, cursor = paging.page(rows, 3, {})
    assert first == rows[:3] and paging.decode_cursor(cursor, {}) == "2"
    assert paging.page(rows[:3], 3, {}) == (rows[:3], None)


def test_district_scope_and_merchant_access():
    admin = Identity("a", "staff", roles=frozenset({"admin"}))
    staff = Identity("s", "staff", roles=frozenset({"staff"}), districts=frozenset({"aodele"}))
    merchant = Identity("m", "merchant", roles=frozenset({"merchant"}), merchant_id="m-1")
    assert access.narrow_districts(admin, None) is None
    assert access.narrow_districts(staff, None) == ["aodele"]
    with pytest.raises(Forbidden):
        access.narrow_districts(staff, ["outlets"])
    access.require_merchant_access(merchant, {"merchant_id": "m-1", "district_id": "aodele"})
    with pytest.raises(Forbidden):
        access.require_merchant_access(merchant, {"merchant_id": "m-2", "district_id": "aodele"})
    with pytest.raises(Forbidden):
        access.require_merchant_access(staff, {"merchant_id": "m-2", "district_id": "outlets"})


def test_assigned_roles_change_and_implied_roles_follow_the_register():
    assert people.roles_after_update(["party_member", "volunteer"], ["staff"]) == ["party_member", "staff"]
    assert people.implied_roles(["merchant_owner", "staff"], owns_a_merchant=False, is_party_member=True) == [
        "party_member",
        "staff",
    ]
    assert people.ordered_roles(["branch_secretary", "merchant_owner", "branch_secretary"]) == [
        "merchant_owner",
        "branch_secretary",
    ]


def test_a_merchant_changes_only_plain_details_of_its_own_records():
    shop = Identity("m", "merchant", roles=frozenset({"merchant"}), merchant_id="m-1")
    staff = Identity("s", "staff", roles=frozenset({"staff"}), districts=frozenset({"aodele"}))
    merchants.check_self_service(shop, {"shop_name": "新名", "contact_phone": None})
    merchants.check_self_service(staff, {"district_id": "outlets", "owner_id": None})
    with pytest.raises(Forbidden):
        merchants.check_self_service(shop, {"owner_id": None})
    people.check_self_service(shop, {"person_id": "p", "language": "en"})
    with pytest.raises(Forbidden):
        people.check_self_service(shop, {"person_id": "p", "teams": []})


@pytest.mark.parametrize(
    "requested, refusal",
    [
        (date(2026, 3, 1), None),
        (date(2026, 2, 28), ValidationError),  # before arrival
        (date(2026, 3, 11), ValidationError),  # after today
    ],
)
def test_a_transfer_in_lies_between_arrival_and_today(requested, refusal):
    member = {"floating": True, "transferred_in_on": None, "arrived_on": date(2026, 3, 1)}
    if refusal is None:
        assert membership.transferred_on(member, requested, date(2026, 3, 10)) == requested
    else:
        with pytest.raises(refusal):
            membership.transferred_on(member, requested, date(2026, 3, 10))
    with pytest.raises(Conflict):
        membership.transferred_on({**member, "floating": False}, None, date(2026, 3, 10))
