"""The registry's rules, driven without a database or a broker."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_platform.identity import Identity
from alliance_registry import domain


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
        domain.check_status_change(old, new)
    else:
        with pytest.raises(Conflict):
            domain.check_status_change(old, new)


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
    assert domain.transfer_due_on(arrived) == due


def test_party_age_counts_whole_years():
    assert domain.party_age(date(2008, 7, 1), date(2026, 6, 30)) == 17
    assert domain.party_age(date(2008, 7, 1), date(2026, 7, 1)) == 18


def test_the_day_is_a_day_in_china():
    assert domain.today(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_honour_rules():
    domain.check_honour("star_party_member_merchant", 5, 2026)
    domain.check_honour("party_member_business_plaque", None, None)
    with pytest.raises(ValidationError) as caught:
        domain.check_honour("star_party_member_merchant", None, None)
    assert set(caught.value.fields) == {"stars", "year"}
    with pytest.raises(ValidationError):
        domain.check_honour("party_member_model_store", 3, 2026)


def _sql_name_grams(name):
    """What the SQL function ``name_grams`` stores (its definition, in Python)."""
    text = name.lower()
    return {text[i] for i in range(len(text))} | {text[i : i + 2] for i in range(len(text) - 1)}


names = st.text(alphabet="王李张伟芳建国华盛鑫五金ab ", min_size=1, max_size=8)


@given(names, names)
def test_the_name_grams_of_a_fragment_find_every_name_containing_it(name, fragment):
    grams, exact = domain.name_grams(fragment)
    contained = fragment.lower() in name.lower()
    if contained:
        assert set(grams) <= _sql_name_grams(name)
    if exact:
        assert (set(grams) <= _sql_name_grams(name)) == contained


def test_like_patterns_escape_wildcards():
    assert domain.like_pattern("100%_a\\") == "%100\\%\\_a\\\\%"


@given(st.uuids(), st.dictionaries(st.sampled_from(["name", "district_id"]), st.text(max_size=5)))
def test_a_cursor_round_trips_for_its_own_query_only(last_id, query):
    cursor = domain.encode_cursor(last_id, query)
    assert domain.decode_cursor(cursor, query) == str(last_id)
    with pytest.raises(ValidationError):
        domain.decode_cursor(cursor, {**query, "category": "other"})


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "eyJ4IjogMX0"])
def test_a_forged_cursor_is_refused(cursor):
    with pytest.raises(ValidationError):
        domain.decode_cursor(cursor, {})


def test_paging_fetches_one_more_to_know_there_is_a_next_page():
    rows = [{"id": n} for n in range(4)]
    page, cursor = domain.page(rows, 3, {})
    assert page == rows[:3] and domain.decode_cursor(cursor, {}) == "2"
    assert domain.page(rows[:3], 3, {}) == (rows[:3], None)


def test_district_scope_and_merchant_access():
    admin = Identity("a", "staff", roles=frozenset({"admin"}))
    staff = Identity("s", "staff", roles=frozenset({"staff"}), districts=frozenset({"aodele"}))
    merchant = Identity("m", "merchant", roles=frozenset({"merchant"}), merchant_id="m-1")
    assert domain.narrow_districts(admin, None) is None
    assert domain.narrow_districts(staff, None) == ["aodele"]
    with pytest.raises(Forbidden):
        domain.narrow_districts(staff, ["outlets"])
    domain.require_merchant_access(merchant, {"merchant_id": "m-1", "district_id": "aodele"})
    with pytest.raises(Forbidden):
        domain.require_merchant_access(merchant, {"merchant_id": "m-2", "district_id": "aodele"})
    with pytest.raises(Forbidden):
        domain.require_merchant_access(staff, {"merchant_id": "m-2", "district_id": "outlets"})
