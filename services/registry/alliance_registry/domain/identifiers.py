"""Chinese identifiers with their own check characters, validated the same way everywhere: the
``is_valid_*`` predicates, and the ``valid_*`` field validators the RPC inputs and roster rows use."""

import re
from datetime import date

from marshmallow import ValidationError

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


# GB 11643-1999: the 18-character citizen identity number — 6-digit region, 8-digit birth date,
# 3-digit sequence, then a check character computed with ISO 7064 MOD 11-2 (10 is written X).
_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK = "10X98765432"
_ID_CARD = re.compile(r"^\d{17}[\dX]$")


def id_card_check_character(first17):
    return _ID_CARD_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_CARD_WEIGHTS, strict=True)) % 11]


def is_valid_id_card(number):
    """An 18-character ID number whose birth date exists and whose check character matches."""
    if not isinstance(number, str) or not _ID_CARD.match(number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900:
        return False
    return id_card_check_character(number[:17]) == number[17]


def make_id_card(first17):
    """A complete ID number from its first 17 digits (for generated demo and test data)."""
    return first17 + id_card_check_character(first17)


def mask_id_card(number):
    """The form shown to everyone but an administrator: region prefix and the last four only."""
    return number[:3] + "*" * 11 + number[-4:]


def valid_credit_code(value):
    if not is_valid_credit_code(value):
        raise ValidationError("not a valid unified social credit code (18 characters, check character)")


def valid_mobile(value):
    if not is_valid_mobile(value):
        raise ValidationError("not a valid mainland mobile number (11 digits starting 13-19)")


def valid_id_card(value):
    if not is_valid_id_card(value):
        raise ValidationError("not a valid ID-card number (18 characters, birth date, check character)")
