from hypothesis import given
from hypothesis import strategies as st

from alliance_registry.domain.identifiers import (
    CREDIT_CODE_CHARSET,
    credit_code_check_character,
    is_valid_credit_code,
    is_valid_mobile,
)

bodies = st.text(alphabet=CREDIT_CODE_CHARSET, min_size=17, max_size=17)


def test_a_published_credit_code_validates():
    # The check character of a real code printed on a business licence (GB 32100-2015 example).
    assert is_valid_credit_code("91350100M000100Y43")


@given(bodies)
def test_a_code_with_its_check_character_is_valid(body):
    assert is_valid_credit_code(body + credit_code_check_character(body))


@given(bodies, st.integers(min_value=0, max_value=16), st.sampled_from(CREDIT_CODE_CHARSET))
def test_changing_one_character_breaks_the_check(body, position, replacement):
    code = body + credit_code_check_character(body)
    changed = code[:position] + replacement + code[position + 1 :]
    assert is_valid_credit_code(changed) == (changed == code)


def test_malformed_codes_are_invalid():
    assert not is_valid_credit_code("91350100M000100Y4")
    assert not is_valid_credit_code("91350100M000100YI3")  # I is not in the character set
    assert not is_valid_credit_code(None)


def test_mobile_numbers():
    assert is_valid_mobile("13912345678")
    assert (
        not is_valid_mobile("12912345678")
        and not is_valid_mobile("1391234567")
        and not is_valid_mobile("+8613912345678")
    )
