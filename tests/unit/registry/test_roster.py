"""Reading and checking merchant rosters, without a database."""

import base64

import pytest

from alliance_platform.errors import ValidationError
from alliance_registry.domain import roster
from alliance_registry.domain.identifiers import make_credit_code

DISTRICTS = {"aodele": "aodele", "澳德乐时代广场": "aodele"}
CODE = make_credit_code("91371400MA3C8XYK1")


def _read(text, encoding="utf-8"):
    return roster.read(base64.b64encode(text.encode(encoding)).decode(), "csv")


def test_headers_in_chinese_or_english_and_blank_lines_skipped():
    rows = _read(f"\n商户名称,district,经营类别,统一社会信用代码\n甲店,澳德乐时代广场,餐饮,{CODE}\n,,,\n")
    assert rows == [(3, {"shop_name": "甲店", "district": "澳德乐时代广场", "category": "餐饮", "credit_code": CODE})]
    valid, errors = roster.check(rows, DISTRICTS)
    assert errors == [] and valid[0][1]["district_id"] == "aodele"


def test_gb18030_files_are_read():
    rows = _read(f"商户名称,商圈,经营类别,统一社会信用代码\n乙店,aodele,餐饮,{CODE}", "gb18030")
    assert rows[0][1]["shop_name"] == "乙店"


@pytest.mark.parametrize(
    "text, field",
    [("商户名称,商圈\n甲,aodele", "columns"), ("名字,商圈,经营类别,统一社会信用代码", "columns"), ("", "content")],
)
def test_unusable_files_are_refused_whole(text, field):
    with pytest.raises(ValidationError) as caught:
        _read(text)
    assert field in caught.value.fields


def test_row_errors_name_the_row_and_field():
    rows = [
        (2, {"shop_name": "甲", "district": "aodele", "category": "餐饮", "credit_code": CODE}),
        (3, {"shop_name": "乙", "district": "moon", "category": "餐饮", "credit_code": CODE}),
        (4, {"shop_name": "丙", "district": "aodele", "category": "餐饮", "credit_code": "X", "owner_name": "王"}),
    ]
    valid, errors = roster.check(rows, DISTRICTS)
    assert [n for n, _ in valid] == [2]
    assert {e["row"]: sorted(e["errors"]) for e in errors} == {3: ["credit_code", "district"], 4: ["credit_code"]}
