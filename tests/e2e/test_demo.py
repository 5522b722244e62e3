"""`make demo` plays its scripted day against the running system and tells it in plain words."""

import io
import json
import re

from rich.console import Console

from alliance_ops import demo_data
from alliance_ops.demo import Day


def test_the_scripted_day_runs_against_the_running_services(system, client):
    with client(timeout=30) as alliance:
        demo_data.load(alliance, per_district=6)
    told = io.StringIO()
    Day(console=Console(file=told, width=200)).play()
    story = told.getvalue()
    for beat in (
        "floating Party member",
        "transfer due on",
        "points ledger balance 3 (1 entry); rank ",
        "transfer due; activity card (流动党员活动证) issued ",
        "(floating_member_transfer_started)",
        "the membership is now the branch's (floating_member_transferred_in)",
        "reference DM-",
        "closed",
        "a follow-up call (回访) owed by",
        "follow-up recorded: not_solved",
        "refused — clashes with another district's promotion",
        "waitlisted, place 1",
        "the seat is offered to the first waiting",
        "accepts the seat offered",
        "evaluation_closed",
        "branch meeting planned; 5 members invited and told",
        "4 checked in, 1 excused, 0 absent (attendance 100%; meeting_held)",
        "minutes recorded with 2 decisions",
        "branch compliance: committee last held ",
        "branch(es) flagged overdue",
        "The day is over.",
    ):
        assert beat in story, f"{beat!r} missing from:\n{story}"
    assert "honour awarded: 5 stars" in story or "no honour" in story
    assert "rank None" not in story, "the member's points rank him in his branch"
    # The Wholesale City branch held its committee today: due again by the end of next month.
    assert re.search(
        r"德百物流批发城党支部\n\s+→ events branch compliance: committee last held \d{4}-\d\d-\d\d,", story
    )
    # It ends with the console's address and a one-time code that signs the day's staff member in.
    found = re.search(r"/console\n\s+sign in as .*: mobile (\d{11}), one-time code (\d{6})", story)
    assert found, story[-600:]
    with client() as anonymous:  # no token is needed; an administrator's is ignored
        signed_in = anonymous.registry.sign_in(mobile=found.group(1), code=found.group(2))
    assert "staff" in signed_in["roles"] and signed_in["token"]


def test_the_monthly_report_renders_real_charts_from_the_running_services(system, client, tmp_path, monkeypatch):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from click.testing import CliRunner

    from alliance_ops.cli import main
    from alliance_platform import logs

    with client(timeout=30) as alliance:
        demo_data.load(alliance, per_district=6)
    Day(console=Console(file=io.StringIO(), width=200)).play()
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the report's months are local
    out = tmp_path / "report.html"
    try:
        result = CliRunner().invoke(main, ["report", "--month", month, "--out", str(out)], catch_exceptions=False)
    finally:
        logs.configure(fmt="console", level="WARNING")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and html.count('class="chart"') >= 6
    # the charts' data is written as JSON, Chinese labels as they are
    assert json.dumps("银企对接", ensure_ascii=False) in html, "the demo's financing demand is in the category chart"
    assert json.dumps("星级党员商户", ensure_ascii=False) in html, "the demo's honour is in the honours chart"
    assert CliRunner().invoke(main, ["report", "--month", "2026-13"]).exit_code == 2
