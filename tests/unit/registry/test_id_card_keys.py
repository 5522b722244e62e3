"""The ID-card vault with several keys: the current one seals, previous ones still open and find,
each sealed value names its key, and re-sealing moves a number to the current key."""

import base64

import pytest

from alliance_registry.domain.id_cards import IdCardVault, UnreadableIdCard, key_id_of, rotation_report

OLD = "ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k"  # the development key: a bare value is key 1
NEW = base64.b64encode(b"n" * 32).decode()
NEWER = base64.b64encode(b"w" * 32).decode()
NUMBER = "11010519491231002X"


def test_a_bare_key_is_key_1_and_seals_as_before_keys_had_ids():
    vault = IdCardVault(OLD)
    assert (vault.current_key_id, vault.key_ids, vault.retiring_key_ids) == (1, [1], [])
    assert key_id_of(vault.seal(NUMBER)) == 1  # the version byte the numbers sealed before carry
    assert IdCardVault(f"1:{OLD}").unseal(vault.seal(NUMBER)) == NUMBER


def test_the_current_key_seals_and_a_previous_key_still_opens():
    old = IdCardVault(OLD)
    sealed_before = old.seal(NUMBER)
    rotating = IdCardVault(f"2:{NEW}", f"1:{OLD}")
    assert rotating.unseal(sealed_before) == NUMBER
    sealed_now = rotating.seal(NUMBER)
    assert key_id_of(sealed_now) == 2 and rotating.unseal(sealed_now) == NUMBER
    with pytest.raises(UnreadableIdCard) as refused:  # the old key alone cannot read what the new one sealed
        old.unseal(sealed_now)
    assert (refused.value.key_id, refused.value.held) == (2, False)


def test_re_sealing_moves_a_number_to_the_current_key_and_its_digest_with_it():
    rotating = IdCardVault(f"2:{NEW}", OLD)
    moved = rotating.resealed(IdCardVault(OLD).seal(NUMBER))
    new_only = IdCardVault(f"2:{NEW}")
    assert key_id_of(moved["id_card_sealed"]) == 2 and new_only.unseal(moved["id_card_sealed"]) == NUMBER
    assert moved["id_card_digest"] == new_only.digest(NUMBER) != IdCardVault(OLD).digest(NUMBER)


def test_a_number_is_found_under_every_key_held():
    rotating = IdCardVault(f"2:{NEW}", f"1:{OLD}")
    assert rotating.digests(NUMBER) == [IdCardVault(f"2:{NEW}").digest(NUMBER), IdCardVault(OLD).digest(NUMBER)]
    stored_under_1 = IdCardVault(OLD).digest(NUMBER)
    assert rotating.matches(NUMBER, stored_under_1, 1) and not rotating.matches(NUMBER, stored_under_1, 2)
    assert not rotating.matches("11010519491231003X", stored_under_1, 1)
    assert not rotating.matches(NUMBER, stored_under_1, 9)  # a key not held matches nothing
    assert rotating.matches(None, None, None) and not rotating.matches(NUMBER, None, None)


def test_older_previous_keys_retire_and_newer_ones_are_incoming():
    vault = IdCardVault(f"2:{NEW}", f"1:{OLD}, 3:{NEWER}")
    assert (vault.key_ids, vault.retiring_key_ids, vault.incoming_key_ids) == ([2, 1, 3], [1], [3])
    # During a rolling restart an instance still sealing under 2 reads what one under 3 sealed.
    assert vault.unseal(IdCardVault(f"3:{NEWER}").seal(NUMBER)) == NUMBER


def test_an_altered_value_or_a_key_under_the_wrong_id_is_a_typed_error():
    vault = IdCardVault(f"2:{NEW}", f"1:{OLD}")
    sealed = bytearray(vault.seal(NUMBER))
    sealed[-1] ^= 1
    with pytest.raises(UnreadableIdCard) as altered:
        vault.unseal(bytes(sealed))
    assert (altered.value.key_id, altered.value.held) == (2, True)
    with pytest.raises(UnreadableIdCard):
        IdCardVault(f"1:{NEW}").unseal(IdCardVault(OLD).seal(NUMBER))


@pytest.mark.parametrize(
    ("current", "previous"),
    [(f"0:{NEW}", ""), (f"256:{NEW}", ""), (f"x:{NEW}", ""), (f"2:{NEW}", f"2:{OLD}"), (f"2:{NEW}", "1:c2hvcnQ=")],
)
def test_bad_key_ids_are_refused_at_start(current, previous):
    with pytest.raises(ValueError):
        IdCardVault(current, previous)


def test_the_report_says_what_is_left_and_which_key_may_go():
    vault = IdCardVault(f"2:{NEW}", f"1:{OLD}, 3:{NEWER}")
    midway = rotation_report(vault, {1: 40, 2: 60, 7: 3})
    assert midway["keys"] == [
        {"key_id": 1, "state": "retiring", "numbers": 40},
        {"key_id": 2, "state": "current", "numbers": 60},
        {"key_id": 3, "state": "incoming", "numbers": 0},
        {"key_id": 7, "state": "unknown", "numbers": 3},
    ]
    assert (midway["to_reseal"], midway["unreadable"], midway["done"], midway["remove_from_config"]) == (
        40,
        3,
        False,
        [],
    )
    done = rotation_report(vault, {2: 100})
    assert (done["to_reseal"], done["done"], done["remove_from_config"]) == (0, True, [1])  # not 3: it is coming
