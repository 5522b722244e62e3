"""The rules of signing in by one-time code, driven without a database or a broker."""

from datetime import UTC, datetime, timedelta

import pytest

from alliance_platform.config import load_config
from alliance_platform.identity import ROLES
from alliance_registry.domain import sign_in
from alliance_registry.domain.sign_in import Limit, SignInRules

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RULES = SignInRules.from_config(load_config("registry"))


def _at(*seconds):
    return [T0 + timedelta(seconds=s) for s in seconds]


def test_the_shipped_rules_are_those_of_the_brief():
    assert (RULES.code_ttl, RULES.max_tries, RULES.token_ttl, RULES.resend_after) == (300, 5, 28800, 60)
    assert RULES.per_mobile == (Limit(3, 600), Limit(10, 86400))
    assert RULES.per_client == (Limit(30, 600),)
    assert RULES.code_minutes == 5
    assert RULES.mobile_window() == timedelta(days=1) and RULES.client_window() == timedelta(minutes=10)
    assert "key" not in repr(RULES)  # the hashing key never reaches a log line


@pytest.mark.parametrize("text", ["3", "3/", "/600", "0/600", "3/0", "three/600", "3/600,x"])
def test_a_malformed_limit_is_refused_when_the_rules_load(text):
    with pytest.raises(ValueError, match="CODES/SECONDS"):
        sign_in.parse_limits(text)


def test_limits_read_as_codes_per_seconds():
    assert sign_in.parse_limits(" 3/600 , 10/86400 ") == (Limit(3, 600), Limit(10, 86400))
    assert sign_in.parse_limits("") == ()


def test_codes_are_six_digits_from_the_random_source_and_kept_only_as_a_keyed_hash():
    assert sign_in.new_code(lambda n: 42) == "000042"
    assert sign_in.new_code(lambda n: n - 1) == "999999"
    codes = {sign_in.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    salt = sign_in.new_salt()
    digest = RULES.digest("13900000001", "123456", salt)
    assert RULES.matches(digest, "13900000001", "123456", salt)
    assert not RULES.matches(digest, "13900000001", "123457", salt)
    assert not RULES.matches(digest, "13900000002", "123456", salt)  # bound to its mobile
    assert not RULES.matches(digest, "13900000001", "123456", sign_in.new_salt())  # and to its salt
    other_secret = SignInRules.from_config({**load_config("registry"), "SIGN_IN_CODE_SECRET": "x" * 40})
    assert not other_secret.matches(digest, "13900000001", "123456", salt)  # a dump alone reveals nothing
    assert b"123456" not in digest


def test_another_code_waits_for_the_pause_after_the_last_one():
    assert sign_in.wait_for_another([], RULES.per_mobile, T0, pause=60) == 0
    assert sign_in.wait_for_another(_at(0), RULES.per_mobile, T0 + timedelta(seconds=20), pause=60) == 40
    assert sign_in.wait_for_another(_at(0), RULES.per_mobile, T0 + timedelta(seconds=60), pause=60) == 0


def test_another_code_waits_until_the_oldest_leaves_a_full_window():
    per_mobile = RULES.per_mobile
    now = T0 + timedelta(seconds=200)
    assert sign_in.wait_for_another(_at(0, 100), per_mobile, now) == 0
    # Three in ten minutes: the fourth waits until the first is ten minutes old.
    assert sign_in.wait_for_another(_at(0, 100, 150), per_mobile, now) == 400
    assert sign_in.wait_for_another(_at(0, 100, 150), per_mobile, T0 + timedelta(seconds=600)) == 0
    # Ten a day: the eleventh waits for the first of the day to be a day old, whatever the pause.
    day = [T0 + timedelta(hours=h) for h in range(10)]
    later = T0 + timedelta(hours=12)
    assert sign_in.wait_for_another(day, per_mobile, later, pause=60) == 12 * 3600
    # A partial second is a whole one: never "try again in 0".
    assert sign_in.wait_for_another(_at(0), per_mobile, T0 + timedelta(seconds=59.5), pause=60) == 1


def test_the_client_limit_counts_the_clients_codes_alone():
    codes = _at(*range(0, 300, 10))  # thirty codes in five minutes
    assert sign_in.wait_for_another(codes[:29], RULES.per_client, T0 + timedelta(seconds=300)) == 0
    assert sign_in.wait_for_another(codes, RULES.per_client, T0 + timedelta(seconds=300)) == 300


@pytest.mark.parametrize(
    "wait, minutes", [(1, "1 minute"), (60, "1 minute"), (61, "2 minutes"), (86400, "1440 minutes")]
)
def test_too_many_codes_says_when_to_try_again_in_minutes(wait, minutes):
    assert sign_in.too_many(wait) == f"too many codes; try again in {minutes}"


def _code(**overrides):
    return {"used_at": None, "tries": 0, "expires_at": T0 + timedelta(minutes=5), **overrides}


def test_a_code_signs_in_once_within_its_life_and_its_tries():
    assert sign_in.refusal(_code(), T0, 5) is None
    assert sign_in.refusal(_code(tries=4), T0, 5) is None
    assert "no sign-in code" in sign_in.refusal(None, T0, 5)
    assert "used already" in sign_in.refusal(_code(used_at=T0), T0, 5)
    assert "too many wrong codes" in sign_in.refusal(_code(tries=5), T0, 5)
    assert "expired" in sign_in.refusal(_code(), T0 + timedelta(minutes=5), 5)
    assert sign_in.refusal(_code(), T0 + timedelta(minutes=5) - timedelta(microseconds=1), 5) is None


def test_a_wrong_code_says_how_many_tries_are_left():
    assert sign_in.wrong_code(4) == "wrong code; 4 tries left"
    assert sign_in.wrong_code(1) == "wrong code; 1 try left"
    assert sign_in.wrong_code(0) == "wrong code; no tries left: request a new one"


def _person(roles, district="wholesale_city"):
    return {"person_id": "p-1", "name": "王建国", "roles": list(roles), "district_id": district}


@pytest.mark.parametrize(
    "roles, may",
    [
        (["staff"], True),
        (["branch_secretary", "party_member"], True),
        (["department_liaison"], True),
        (["volunteer"], True),
        (["merchant_owner", "staff"], True),
        (["merchant_owner"], False),  # a merchant's owner is not staff
        (["merchant_owner", "party_member"], False),
        (["party_member"], False),
        ([], False),
    ],
)
def test_who_may_sign_in(roles, may):
    assert sign_in.may_sign_in(_person(roles)) is may


def test_nobody_signs_in_for_a_mobile_nobody_has():
    assert sign_in.may_sign_in(None) is False


def test_the_token_says_the_persons_roles_their_tokens_know_and_their_district():
    claims = sign_in.token_claims(_person(["merchant_owner", "party_member", "staff"]))
    assert claims == {
        "subject": "p-1",
        "kind": "staff",
        "roles": ["party_member", "staff"],  # merchant_owner is the register's, not a token's role
        "districts": ["wholesale_city"],
        "name": "王建国",
    }
    assert set(claims["roles"]) <= ROLES
    assert sign_in.token_claims(_person(["volunteer"], district=None))["districts"] == []
    assert sign_in.token_claims(_person(["admin"]))["districts"] == ["*"]
    assert sign_in.token_claims(_person(["operator", "staff"]))["districts"] == ["*"]
