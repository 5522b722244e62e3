"""Roster imports on a real session: all rows or none, new owners registered, people already in the
register made owners, the same roster again changing nothing."""

import base64

import pytest

from alliance_platform.errors import ValidationError
from alliance_registry import use_cases

from .conftest import staff
from .samples import credit_code, mobile, person_fields

HEADER = "商户名称,商圈,经营类别,统一社会信用代码,负责人,负责人手机"


def _roster(*rows):
    lines = [HEADER] + [",".join(row) for row in rows]
    return base64.b64encode("\n".join(lines).encode()).decode()


def _row(name="鑫盛五金", district="德百物流批发城", owner=("王五", None)):
    return [name, district, "五金建材", credit_code(), owner[0], owner[1] or mobile()]


def test_a_dry_run_checks_everything_and_writes_nothing(register):
    report = register(use_cases.import_merchants, content=_roster(_row(), _row()), format="csv", dry_run=True)
    assert (report["status"], report["created"], report["owners_registered"]) == ("validated", 2, 2)
    assert (register.count("merchants"), register.count("people"), register.count("outbox")) == (0, 0, 0)


def test_an_import_registers_owners_and_merchants_and_again_changes_nothing(register):
    known = register(use_cases.register_person, **person_fields(name="赵六"))
    rows = [_row(), _row(owner=("赵六", known["mobile"]))]
    report = register(use_cases.import_merchants, content=_roster(*rows), format="csv")
    assert (report["created"], report["owners_registered"]) == (2, 1)
    # Someone already registered who now owns a merchant holds the merchant-owner role.
    assert register.db("SELECT roles FROM people WHERE id = %s", (known["person_id"],)) == [
        {"roles": ["merchant_owner"]}
    ]
    assert sorted(register.event_types()) == sorted(
        ["person_registered"] * 2 + ["merchant_registered"] * 2 + ["person_updated"]
    )
    actions = register.db("SELECT aggregate_type, action, details->>'source' AS source FROM history ORDER BY id")
    assert [a["source"] for a in actions if a["action"] == "registered"][1:] == ["import"] * 3
    before = len(register.events())
    again = register(use_cases.import_merchants, content=_roster(*rows), format="csv")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert len(register.events()) == before
    rows[0][0] = "鑫盛五金改名"
    changed = register(use_cases.import_merchants, content=_roster(*rows), format="csv")
    assert (changed["updated"], changed["unchanged"]) == (1, 1)
    assert register.events()[-1][1]["changed"] == ["shop_name"]


def test_rows_the_register_refuses_reject_the_roster_whole(register):
    known = register(use_cases.register_person, **person_fields(name="赵六"))
    rows = [_row(), _row(owner=("别人", known["mobile"])), _row(district="aodele")]
    with pytest.raises(ValidationError) as refused:
        register(use_cases.import_merchants, caller=staff("wholesale_city"), content=_roster(*rows), format="csv")
    assert {r["row"]: sorted(r["errors"]) for r in refused.value.fields["rows"]} == {
        3: ["owner_mobile"],
        4: ["district"],
    }
    assert "2 of 3 rows rejected" in refused.value.message
    assert (register.count("merchants"), register.count("people"), len(register.events())) == (0, 1, 1)
