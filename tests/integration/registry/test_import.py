"""import_merchants and ``alliance import merchants``: every row checked, all or nothing, idempotent."""

import base64
import io

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from alliance_ops.cli import main
from alliance_platform import logs
from alliance_platform.errors import Forbidden, ValidationError
from tests.use_cases.registry.samples import credit_code, mobile

HEADER = ["商户名称", "商圈", "摊位号", "经营类别", "统一社会信用代码", "联系电话", "网店链接", "负责人", "负责人手机"]


def _rows(count, district="德百物流批发城"):
    return [
        ["鑫盛五金" + str(n), district, f"A1-{n:03d}", "五金建材", credit_code(), mobile(), "", f"王{n}", mobile()]
        for n in range(count)
    ]


def _csv(rows, header=HEADER, encoding="utf-8-sig"):
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    return base64.b64encode("\n".join(lines).encode(encoding)).decode()


def _xlsx(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        # Phone numbers typed into a spreadsheet are kept as numbers (credit codes, too long to
        # survive as a double, are typed as text).
        sheet.append([int(cell) if str(cell).isdigit() and len(str(cell)) == 11 else cell for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return base64.b64encode(out.getvalue()).decode()


def test_a_roster_imports_once_and_a_second_import_changes_nothing(registry):
    rows = _rows(30)
    with registry.admin() as alliance:
        checked = alliance.registry.import_merchants(content=_csv(rows), format="csv", dry_run=True)
        assert checked["status"] == "validated" and registry.db("SELECT count(*) AS n FROM merchants")[0]["n"] == 0
        first = alliance.registry.import_merchants(content=_csv(rows), format="csv")
        again = alliance.registry.import_merchants(content=_xlsx(rows), format="xlsx")
        rows[3][0] = "鑫盛五金改名"
        changed = alliance.registry.import_merchants(content=_csv(rows, encoding="gb18030"), format="csv")
        found = alliance.registry.search_merchants(name="改名")["items"]
    assert {k: first[k] for k in ("rows", "created", "updated", "unchanged", "owners_registered")} == {
        "rows": 30,
        "created": 30,
        "updated": 0,
        "unchanged": 0,
        "owners_registered": 30,
    }
    assert (again["created"], again["unchanged"]) == (0, 30)
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 29)
    assert found[0]["unit_no"] == "A1-003" and found[0]["version"] == 2
    owners = registry.db("SELECT roles FROM people")
    assert len(owners) == 30 and all(o["roles"] == ["merchant_owner"] for o in owners)
    types = registry.event_types()
    assert len(types) == 61
    assert types.count("merchant_registered") == 30 and types.count("person_registered") == 30
    assert types[-1] == "merchant_updated"


def test_a_roster_with_bad_rows_is_rejected_whole_with_every_rows_errors(registry):
    rows = _rows(6)
    rows[1][4] = "91371400000000000X"  # credit code check character
    rows[2][1] = "月球商圈"
    rows[3][4] = rows[0][4]  # repeats row 2's credit code
    rows[4][8] = rows[0][8]  # the first owner's mobile, with another name
    rows[5][5] = "12345"
    with registry.admin() as alliance:
        with pytest.raises(ValidationError) as caught:
            alliance.registry.import_merchants(content=_csv(rows), format="csv")
    report = {int(r["row"]): sorted(r["errors"]) for r in caught.value.fields["rows"]}
    assert report == {
        3: ["credit_code"],
        4: ["district"],
        5: ["credit_code"],
        6: ["owner_name"],
        7: ["contact_phone"],
    }
    assert "5 of 6 rows rejected" in caught.value.message
    assert registry.db("SELECT count(*) AS n FROM merchants")[0]["n"] == 0
    assert registry.db("SELECT count(*) AS n FROM people")[0]["n"] == 0
    assert registry.db("SELECT count(*) AS n FROM outbox")[0]["n"] == 0


def test_a_roster_s_shop_url_is_bounded_as_register_merchant_bounds_it(registry):
    rows = _rows(2)
    rows[1][6] = "https://shop.example.cn/" + "x" * 100_000
    with registry.admin() as alliance:
        with pytest.raises(ValidationError) as caught:
            alliance.registry.import_merchants(content=_csv(rows), format="csv")
    assert {int(r["row"]): sorted(r["errors"]) for r in caught.value.fields["rows"]} == {3: ["online_shop_url"]}
    assert registry.db("SELECT count(*) AS n FROM merchants")[0]["n"] == 0


@pytest.mark.parametrize(
    "content, file_format, problem",
    [
        (_csv(_rows(1), header=["名称", "商圈"]), "csv", "columns"),
        (base64.b64encode(b"not a workbook").decode(), "xlsx", "content"),
        ("***", "csv", "content"),
        (_csv([]), "pdf", "format"),
    ],
    ids=["unknown-columns", "not-xlsx", "not-base64", "unknown-format"],
)
def test_an_unreadable_roster_is_refused(registry, content, file_format, problem):
    with registry.admin() as alliance, pytest.raises(ValidationError) as caught:
        alliance.registry.import_merchants(content=content, format=file_format)
    assert problem in caught.value.fields


def test_staff_import_only_into_their_districts(registry):
    rows = _rows(2) + _rows(1, district="aodele")
    with registry.staff("wholesale_city") as alliance:
        with pytest.raises(ValidationError) as caught:
            alliance.registry.import_merchants(content=_csv(rows), format="csv")
        assert [int(r["row"]) for r in caught.value.fields["rows"]] == [4]
        assert alliance.registry.import_merchants(content=_csv(rows[:2]), format="csv")["created"] == 2
    with registry.merchant("m-1") as alliance, pytest.raises(Forbidden):
        alliance.registry.import_merchants(content=_csv(rows[:2]), format="csv")
    assert registry.db("SELECT count(*) AS n FROM merchants")[0]["n"] == 2


@pytest.fixture
def cli(registry, monkeypatch):
    monkeypatch.setenv("AMQP_URI", registry.container.config["AMQP_URI"])

    def invoke(*args):
        try:
            result = CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
        finally:
            logs.configure(fmt="console", level="WARNING")
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_the_operator_imports_a_roster_file(registry, cli, tmp_path):
    good, bad = tmp_path / "roster.xlsx", tmp_path / "roster.csv"
    rows = _rows(5)
    good.write_bytes(base64.b64decode(_xlsx(rows)))
    rows[2][4] = "NOTACODE"
    bad.write_bytes(base64.b64decode(_csv(rows)))

    code, output, _ = cli("import", "merchants", str(good))
    assert code == 0 and "5 rows; 5 merchants were registered" in output
    code, output, _ = cli("import", "merchants", str(good))
    assert code == 0 and "0 merchants were registered, 0 updated, 5 unchanged" in output
    code, output, _ = cli("import", "merchants", str(bad))
    assert code == 1 and "1 of 5 rows rejected" in output and "credit_code" in output and " 4 " in output
    assert registry.db("SELECT count(*) AS n FROM merchants")[0]["n"] == 5
    (tmp_path / "roster.txt").write_text("x")
    assert cli("import", "merchants", str(tmp_path / "roster.txt"))[0] == 2
