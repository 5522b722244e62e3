"""Chinese identifiers with their own check characters, validated the same way everywhere."""

import re

# GB 32100-2015: the unified social credit code uses 31 characters (no I, O, Z, S, V).
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def credit_code_check_character(first17):
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(code):
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in CREDIT_CODE_CHARSET for c in code):
        return False
    return credit_code_check_character(code[:17]) == code[17]


def is_valid_mobile(phone):
    return isinstance(phone, str) and bool(_MOBILE.match(phone))


def make_credit_code(first17):
    """A complete code from its first 17 characters (for generated demo and test data)."""
    return first17 + credit_code_check_character(first17)
