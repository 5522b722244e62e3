"""The rules of the organisations' tree (domain/organisations.py): no cycles, one alliance, a
branch in a district, retiring only what nothing needs, retired bodies change no more."""

import pytest

from alliance_platform.errors import Conflict, ValidationError
from alliance_registry.domain import organisations as o


def _org(organisation_id, type="bank", status="active", liaison_ids=()):
    return {"organisation_id": organisation_id, "type": type, "status": status, "liaison_ids": list(liaison_ids)}


def test_a_move_under_itself_or_a_descendant_is_a_cycle():
    group = _org("bank_group")
    with pytest.raises(Conflict, match="cycle"):
        o.check_move(group, _org("bank_group"), ["bank_group", "alliance"])
    with pytest.raises(Conflict, match="cycle"):
        o.check_move(group, _org("bank_branch"), ["bank_branch", "bank_group", "alliance"])
    o.check_move(group, _org("alliance", type="alliance"), ["alliance", "songguantun_committee"])
    o.check_move(group, None, [])  # a root


def test_nothing_moves_under_or_out_of_a_retired_organisation():
    with pytest.raises(Conflict, match="retired"):
        o.check_move(_org("a"), _org("b", status="retired"), ["b"])
    with pytest.raises(Conflict, match="retired"):
        o.check_move(_org("a", status="retired"), None, [])


def test_a_new_branch_needs_a_district_and_there_is_one_alliance():
    with pytest.raises(ValidationError, match="district"):
        o.check_new({"type": "party_branch", "district_id": None}, None, alliance_exists=True)
    o.check_new({"type": "party_branch", "district_id": "aodele"}, _org("alliance", type="alliance"), True)
    with pytest.raises(Conflict, match="only one"):
        o.check_new({"type": "alliance"}, None, alliance_exists=True)
    o.check_new({"type": "alliance"}, None, alliance_exists=False)
    with pytest.raises(Conflict, match="retired"):
        o.check_new({"type": "bank"}, _org("old", status="retired"), True)


def test_retiring_names_everything_that_still_needs_the_organisation():
    branch = _org("branch_outlets", type="party_branch")
    assert o.retirement_blockers(branch, [], 0, 0) == []
    blockers = o.retirement_blockers(branch, ["sub_a", "sub_b"], 12, 3)
    assert len(blockers) == 3
    assert "sub_a, sub_b" in blockers[0] and "12 Party member" in blockers[1] and "3 open pairing" in blockers[2]
    with pytest.raises(Conflict, match="12 Party member"):
        o.check_retire(branch, [], 12, 0)
    with pytest.raises(Conflict, match="alliance"):
        o.check_retire(_org("alliance", type="alliance"), [], 0, 0)
    with pytest.raises(Conflict, match="retired"):
        o.check_retire(_org("old", status="retired"), [], 0, 0)
    o.check_retire(_org("dezhou_bank"), [], 0, 0)


def test_a_liaison_change_says_who_joined_and_who_left_in_order():
    assert o.liaison_change(["a", "b"], ["c", "a", "d"]) == (["c", "d"], ["b"])
    assert o.liaison_change(["a"], ["a"]) == ([], [])
    assert o.liaison_change(["a", "b"], []) == ([], ["a", "b"])
