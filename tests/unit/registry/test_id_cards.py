"""ID-card numbers: the GB 11643 check character, and sealing at rest."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance_registry.domain.id_cards import IdCardVault, UnreadableIdCard
from alliance_registry.domain.identifiers import id_card_check_character, is_valid_id_card, make_id_card, mask_id_card

KEY = "ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k"
bodies = st.builds(
    lambda region, born, seq: f"{region}{born:%Y%m%d}{seq:03d}",
    st.integers(110000, 659999),
    st.dates(min_value=__import__("datetime").date(1900, 1, 1)),
    st.integers(0, 999),
)


def test_the_standards_example_validates():
    assert is_valid_id_card("11010519491231002X")  # GB 11643-1999's worked example
    assert id_card_check_character("11010519491231002") == "X"


@given(bodies)
def test_a_number_with_its_check_character_is_valid(body):
    assert is_valid_id_card(make_id_card(body))


@given(bodies, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_changing_one_character_breaks_the_number(body, position, replacement):
    number = make_id_card(body)
    changed = number[:position] + replacement + number[position + 1 :]
    if changed != number:
        assert not is_valid_id_card(changed)


@pytest.mark.parametrize(
    "number",
    ["11010519491231002", "110105194912310021X", "11010519490230002X", "11010518001231002X", None, "x" * 18],
)
def test_malformed_numbers_are_invalid(number):
    assert not is_valid_id_card(number)


def test_the_masked_form_keeps_the_region_prefix_and_last_four():
    assert mask_id_card("11010519491231002X") == "110***********002X"


def test_a_sealed_number_reads_back_only_with_its_key():
    vault = IdCardVault(KEY)
    sealed = vault.seal("11010519491231002X")
    assert b"1949" not in sealed and vault.unseal(sealed) == "11010519491231002X"
    assert vault.seal("11010519491231002X") != sealed  # a fresh nonce each time
    other = IdCardVault("b3RoZXIta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMtbG9uZw==")
    with pytest.raises(UnreadableIdCard):  # a typed error, not the cipher's
        other.unseal(sealed)


def test_the_lookup_digest_is_keyed_and_stable():
    vault, other = IdCardVault(KEY), IdCardVault("b3RoZXIta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMtbG9uZw==")
    assert vault.digest("11010519491231002x") == vault.digest("11010519491231002X")
    assert vault.digest("11010519491231002X") != other.digest("11010519491231002X")


@pytest.mark.parametrize("key", ["not base64!", "c2hvcnQ="])
def test_a_bad_key_is_refused_at_start(key):
    with pytest.raises(ValueError):
        IdCardVault(key)
