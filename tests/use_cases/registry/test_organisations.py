"""Organisations as data (组织联建) on a real session: an administrator adds, renames, moves and
retires them and names their liaisons; each change is one version, announced by its event and kept
in the history (before and after, who, when), which the database refuses to edit; a refused
command changes nothing."""

import psycopg
import pytest

from alliance_platform.errors import Conflict, NotFound, ValidationError
from alliance_registry import queries, use_cases

from .conftest import ADMIN
from .samples import merchant_fields, person_fields


def _person(register, name="李红"):
    return register(use_cases.register_person, **person_fields(name=name))["person_id"]


def _bank(register, organisation_id="dezhou_bank", **overrides):
    fields = {
        "organisation_id": organisation_id,
        "type": "bank",
        "name": "德州银行天衢新区支行",
        "short_name": "德州银行",
        **overrides,
    }
    return register(use_cases.add_organisation, **fields)


def _versions(register, organisation_id):
    page = register(queries.organisation_history, organisation_id=organisation_id, limit=100)
    return [(v["version"], v["change"]) for v in page["items"]]


def test_an_added_bank_has_its_liaisons_its_event_and_its_first_version(register):
    liaison = _person(register)
    bank = _bank(register, liaison_ids=[liaison], parent_id="alliance")
    assert (bank["status"], bank["version"], bank["liaison_ids"], bank["name_en"]) == (
        "active",
        1,
        [liaison],
        "德州银行天衢新区支行",  # no English name given: the Chinese one
    )
    [(_, added)] = register.events("organisation_added")
    assert (added["organisation_id"], added["version"], added["liaison_ids"]) == ("dezhou_bank", 1, [liaison])
    [version] = register(queries.organisation_history, organisation_id="dezhou_bank")["items"]
    assert (version["change"], version["before"], version["after"]["parent_id"], version["actor"]) == (
        "added",
        None,
        "alliance",
        "staff:admin-1",
    )
    listed = register(queries.list_organisations, type="bank")
    assert [o["id"] for o in listed] == ["dezhou_bank"]


def test_refused_additions_change_nothing(register):
    _bank(register)
    before = (register.count("organisations"), register.count("organisation_history"), register.count("outbox"))
    with pytest.raises(Conflict, match="already registered"):
        _bank(register)
    with pytest.raises(ValidationError, match="unknown organisation"):
        _bank(register, "other_bank", parent_id="no_such_parent")
    with pytest.raises(ValidationError, match="unknown liaisons"):
        _bank(register, "other_bank", liaison_ids=["00000000-0000-4000-8000-000000000000"])
    with pytest.raises(ValidationError, match="district"):
        _bank(register, "branch_new", type="party_branch", name="新支部", short_name="新支部")
    with pytest.raises(Conflict, match="only one"):
        _bank(register, "second_alliance", type="alliance", name="另一联盟", short_name="联盟")
    with pytest.raises(ValidationError):
        _bank(register, "Bad Id!")
    after = (register.count("organisations"), register.count("organisation_history"), register.count("outbox"))
    assert after == before


def test_a_rename_is_a_version_with_the_name_before_and_after(register):
    _bank(register)
    renamed = register(
        use_cases.rename_organisation,
        organisation_id="dezhou_bank",
        name="德州银行天衢支行",
        short_name="德银天衢",
        expected_version=1,
        reason="总行更名",
    )
    assert (renamed["name"], renamed["short_name"], renamed["version"]) == ("德州银行天衢支行", "德银天衢", 2)
    [(_, event)] = register.events("organisation_renamed")
    assert (event["previous_name"], event["name"], event["reason"]) == (
        "德州银行天衢新区支行",
        "德州银行天衢支行",
        "总行更名",
    )
    [_, version] = register(queries.organisation_history, organisation_id="dezhou_bank")["items"]
    assert (version["before"]["name"], version["after"]["name"], version["reason"]) == (
        "德州银行天衢新区支行",
        "德州银行天衢支行",
        "总行更名",
    )
    with pytest.raises(Conflict, match="version 2"):
        register(use_cases.rename_organisation, organisation_id="dezhou_bank", name="又一名", expected_version=1)
    # The same name again changes nothing: no version, no event.
    register(use_cases.rename_organisation, organisation_id="dezhou_bank", name="德州银行天衢支行")
    assert _versions(register, "dezhou_bank") == [(1, "added"), (2, "renamed")]


def test_a_move_that_would_make_a_cycle_is_refused(register):
    _bank(register, "bank_group", parent_id="alliance")
    _bank(register, "bank_branch", parent_id="bank_group")
    for new_parent in ("bank_branch", "bank_group"):  # a descendant, itself
        with pytest.raises(Conflict, match="cycle"):
            register(use_cases.move_organisation, organisation_id="bank_group", parent_id=new_parent)
    # The alliance under one of its own branches: a cycle through the seeded tree too.
    with pytest.raises(Conflict, match="cycle"):
        register(use_cases.move_organisation, organisation_id="alliance", parent_id="branch_aodele")
    assert register.events("organisation_moved") == []
    moved = register(use_cases.move_organisation, organisation_id="bank_branch", parent_id=None, reason="独立")
    assert (moved["parent_id"], moved["version"]) == (None, 2)
    [(_, event)] = register.events("organisation_moved")
    assert (event["previous_parent_id"], event["parent_id"]) == ("bank_group", None)


def test_liaisons_are_replaced_whole_and_the_event_says_who_joined_and_who_left(register):
    first, second = _person(register, "甲"), _person(register, "乙")
    _bank(register, liaison_ids=[first])
    changed = register(use_cases.set_organisation_liaisons, organisation_id="dezhou_bank", liaison_ids=[second, first])
    assert (changed["liaison_ids"], changed["version"]) == ([second, first], 2)
    register(use_cases.set_organisation_liaisons, organisation_id="dezhou_bank", liaison_ids=[second])
    events = [
        (e["added_liaison_ids"], e["removed_liaison_ids"]) for _, e in register.events("organisation_liaisons_changed")
    ]
    assert events == [([second], []), ([], [first])]
    audience = register(queries.resolve_audience, organisation_id="dezhou_bank")
    assert [c["person_id"] for c in audience["contacts"]] == [second]


def test_retiring_is_refused_while_something_needs_it_and_releases_the_liaisons(register):
    liaison = _person(register)
    _bank(register, "bank_group", liaison_ids=[liaison])
    _bank(register, "bank_branch", parent_id="bank_group")
    with pytest.raises(Conflict, match="bank_branch"):
        register(use_cases.retire_organisation, organisation_id="bank_group", reason="合作到期")
    register(use_cases.retire_organisation, organisation_id="bank_branch", reason="撤并")
    retired = register(use_cases.retire_organisation, organisation_id="bank_group", reason="合作到期")
    assert (retired["status"], retired["liaison_ids"], retired["retired_reason"]) == ("retired", [], "合作到期")
    [_, (_, event)] = register.events("organisation_retired")
    assert (event["status"], event["removed_liaison_ids"]) == ("retired", [liaison])
    # A retired organisation changes no more, is listed only on request, and reaches no one.
    for command, fields in (
        (use_cases.rename_organisation, {"name": "新名"}),
        (use_cases.move_organisation, {"parent_id": "alliance"}),
        (use_cases.set_organisation_liaisons, {"liaison_ids": [liaison]}),
        (use_cases.retire_organisation, {"reason": "again"}),
    ):
        with pytest.raises(Conflict, match="retired"):
            register(command, organisation_id="bank_group", **fields)
    with pytest.raises(Conflict, match="retired"):
        _bank(register, "under_retired", parent_id="bank_group")
    assert "bank_group" not in [o["id"] for o in register(queries.list_organisations)]
    assert "bank_group" in [o["id"] for o in register(queries.list_organisations, include_retired=True)]
    assert register(queries.resolve_audience, organisation_id="bank_group")["contacts"] == []
    assert _versions(register, "bank_group") == [(1, "added"), (2, "retired")]


def test_a_branch_with_members_or_the_alliance_cannot_be_retired(register):
    member = _person(register)
    register(use_cases.register_party_member, person_id=member, branch_id="branch_outlets", joined_on="2010-07-01")
    shop = register(use_cases.register_merchant, **merchant_fields(district_id="outlets"))
    register(use_cases.start_pairing, person_id=member, merchant_id=shop["merchant_id"])
    with pytest.raises(Conflict, match="1 Party member.*1 open pairing"):
        register(use_cases.retire_organisation, organisation_id="branch_outlets", reason="撤并")
    with pytest.raises(Conflict, match="alliance awards honours"):
        register(use_cases.retire_organisation, organisation_id="alliance", reason="x")


def test_a_retired_branch_takes_no_members_but_can_still_be_read(register):
    register(
        use_cases.add_organisation,
        organisation_id="branch_pop_up",
        type="party_branch",
        name="临时党支部",
        short_name="临时支部",
        parent_id="alliance",
        district_id="aodele",
    )
    register(use_cases.retire_organisation, organisation_id="branch_pop_up", reason="活动结束")
    # Still a branch to read (its audience, its ranking): only joining it is refused.
    assert register(queries.resolve_audience, branch_id="branch_pop_up")["contacts"] == []
    with pytest.raises(Conflict, match="retired"):
        register(
            use_cases.register_party_member,
            person_id=_person(register),
            branch_id="branch_pop_up",
            joined_on="2010-07-01",
        )


def test_the_seeded_organisations_have_a_first_version_and_the_history_is_never_edited(register):
    assert _versions(register, "alliance") == [(1, "added")]
    with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
        register.db("UPDATE organisation_history SET actor = 'someone' WHERE organisation_id = 'alliance'")
    with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
        register.db("DELETE FROM organisation_history WHERE organisation_id = 'alliance'")


def test_an_unknown_organisation_is_not_found(register):
    for function, fields in (
        (queries.get_organisation, {}),
        (queries.organisation_history, {}),
        (use_cases.rename_organisation, {"name": "x"}),
        (use_cases.retire_organisation, {"reason": "x"}),
    ):
        with pytest.raises(NotFound):
            register(function, ADMIN, organisation_id="nobody", **fields)


def test_the_history_pages_by_version(register):
    _bank(register)
    for n in range(3):
        register(use_cases.rename_organisation, organisation_id="dezhou_bank", short_name=f"德银{n}")
    first = register(queries.organisation_history, organisation_id="dezhou_bank", limit=3)
    second = register(queries.organisation_history, organisation_id="dezhou_bank", limit=3, cursor=first["next_cursor"])
    assert [v["version"] for v in first["items"] + second["items"]] == [1, 2, 3, 4]
    assert second["next_cursor"] is None


def test_a_retired_organisation_awards_no_honours(register):
    _bank(register, "pop_up_committee", type="street_committee", name="临时工作委员会", short_name="临时委员会")
    register(use_cases.retire_organisation, organisation_id="pop_up_committee", reason="撤销")
    shop = register(use_cases.register_merchant, **merchant_fields())
    with pytest.raises(Conflict, match="retired: it cannot award honours"):
        register(
            use_cases.award_honour,
            merchant_id=shop["merchant_id"],
            kind="party_member_model_store",
            reason="诚信经营",
            awarded_by="pop_up_committee",
        )
    assert register.count("honours") == 0
