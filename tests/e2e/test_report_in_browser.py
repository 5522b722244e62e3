"""The monthly report as a person sees it: `alliance report` against the running services, the page
opened in headless Chromium, and what it shows checked — the weeks of the month asked for, Chinese
labels drawn with a real font, headline figures equal to the charts' data. The screenshot is kept."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from alliance_ops.cli import main
from alliance_platform import logs
from alliance_platform.clock import ControlledTime
from alliance_registry.domain.identifiers import make_credit_code
from tests.support.browser import artifacts, browser, fonts_rendering, page  # noqa: F401
from tests.support.helpers import query, wait_until

SH = ZoneInfo("Asia/Shanghai")
# Thursday 12 November 2026, 10:00 in Dezhou: the month the report is asked for.
START = datetime(2026, 11, 12, 10, 0, tzinfo=SH)


@pytest.fixture
def clock(tmp_path):
    time = ControlledTime(tmp_path / "clock-offset")
    time.set(START)
    return time


@pytest.fixture
def system_env(clock):
    return {"ALLIANCE_CLOCK_OFFSET_FILE": str(clock.path)}


def _november(admin, databases):
    """A month with demands in two categories and districts, an honour, and an activity whose four
    confirmed registrants have not all come yet (one checked in)."""
    shops = []
    for n, district in enumerate(("aodele", "outlets")):
        owner = admin.registry.register_person(name=f"店主{n}", mobile=f"1390000300{n}", district_id=district)
        shops.append(
            admin.registry.register_merchant(
                shop_name=f"月报商户{n}",
                district_id=district,
                category="服装",
                credit_code=make_credit_code(f"91371400RP100000{n}"),
                owner_id=owner["person_id"],
            )
        )
    wait_until(
        lambda: all(
            query(databases["tickets"], "SELECT 1 FROM merchant_directory WHERE merchant_id = %s", (s["merchant_id"],))
            for s in shops
        ),
        message="tickets to learn of the merchants",
    )
    for shop, category in ((shops[0], "bank_financing"), (shops[0], "bank_financing"), (shops[1], "online_shop")):
        admin.tickets.submit_ticket(
            merchant_id=shop["merchant_id"],
            category=category,
            title="月报需求",
            description="月报的需求",
            handling_mode="assisted",
        )
    admin.registry.register_party_member(
        person_id=shops[0]["owner_id"], branch_id="branch_aodele", joined_on="2005-07-01"
    )
    admin.registry.award_honour(
        merchant_id=shops[0]["merchant_id"], kind="star_party_member_merchant", year=2026, stars=4, reason="诚信经营"
    )
    starts = START + timedelta(days=2)
    activity = admin.events.create_activity(
        title="新零售培训",
        type="training",
        description="传统底商门店新零售",
        organisers=["aodele"],
        venue="服务中心",
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=3)).isoformat(),
        registration_opens_at=(START - timedelta(hours=1)).isoformat(),
        registration_closes_at=(START + timedelta(days=1)).isoformat(),
        capacity=10,
        audience={"kinds": ["merchants"], "districts": ["aodele"]},
        theme_tags=["新零售", "线上店铺"],  # on the theme of the online-shop demands (by its label)
    )
    admin.events.publish_activity(activity_id=activity["activity_id"])
    registrations = [
        admin.events.register(activity_id=activity["activity_id"], person_id=f"person-{n}", district_id="aodele")
        for n in range(4)
    ]
    admin.events.check_in(activity_id=activity["activity_id"], code=registrations[0]["check_in_code"])


# What the page shows: every chart's id, its traces and x axis as plotly laid them out, and the
# texts Chromium drew in its SVG (a line break in a label joined by a space).
_SHOWN = """() => Object.fromEntries([...document.querySelectorAll('.chart')].map(div => [div.layout.meta.chart, {
  data: div.data.map(t => ({name: t.name || null, x: t.x, y: t.y, z: t.z || null})),
  xaxis: {type: div._fullLayout.xaxis.type, range: div._fullLayout.xaxis.range},
  ticks: [...div.querySelectorAll('.xtick text')].map(t => {
    const lines = [...t.querySelectorAll('tspan.line')].map(s => s.textContent);
    return lines.length ? lines.join(' ') : t.textContent;
  }),
  texts: [...div.querySelectorAll('svg text')].map(t => t.textContent),
}]))"""


def test_the_monthly_report_as_a_person_sees_it(system, client, page, artifacts):  # noqa: F811
    _, databases, _ = system
    with client(timeout=15) as admin:
        _november(admin, databases)
    out = artifacts / "report-2026-11.html"
    try:
        result = CliRunner().invoke(main, ["report", "--month", "2026-11", "--out", str(out)], catch_exceptions=False)
    finally:
        logs.configure(fmt="console", level="WARNING")
    assert result.exit_code == 0, result.output
    # plotly.js is written once beside the page, not inlined: the page itself is small.
    [script] = list(artifacts.glob("plotly-*.min.js"))
    assert f'<script src="{script.name}">' in out.read_text(encoding="utf-8")
    assert out.stat().st_size < 300_000, f"the page is {out.stat().st_size} bytes"

    page.goto(out.as_uri())
    page.wait_for_function("document.body.dataset.chartsDrawn > 0", timeout=30_000)
    page.screenshot(path=str(artifacts / "report-2026-11.png"), full_page=True)
    shown = page.evaluate(_SHOWN)

    # The weekly chart spans November 2026, one tick per week, each with its year.
    weekly = shown["weekly_on_time_and_rating"]
    assert weekly["xaxis"]["type"] == "date"
    low, high = (datetime.fromisoformat(v).replace(tzinfo=SH) for v in weekly["xaxis"]["range"])
    assert datetime(2026, 10, 31, tzinfo=SH) <= low < datetime(2026, 11, 1, tzinfo=SH)
    assert datetime(2026, 11, 30, tzinfo=SH) <= high < datetime(2026, 12, 1, tzinfo=SH)
    assert weekly["ticks"] == ["2026 11-01", "2026 11-08", "2026 11-15", "2026 11-22", "2026 11-29"]

    # Codes are shown by their Chinese labels.
    assert shown["demands_by_category"]["ticks"] == ["银企对接", "线上店铺"]
    assert shown["demands_by_district"]["ticks"] == ["澳德乐时代广场", "德百奥莱广场"]
    assert shown["activities_by_type"]["ticks"] == ["培训"]
    assert shown["honours"]["ticks"] == ["星级党员商户"]
    visible = page.inner_text("body") + " ".join(t for chart in shown.values() for t in chart["texts"])
    for code in ("bank_financing", "online_shop", "aodele", "outlets", "training", "star_party_member_merchant"):
        assert code not in visible, f"{code} shown as a code"

    # Chinese is drawn with the font the page carries, not with whatever the machine has (or boxes).
    for selector in ("h1", ".chart .xtick text"):
        fonts = fonts_rendering(page, selector)
        assert fonts and all(f["isCustomFont"] for f in fonts), f"{selector} drawn with {fonts}"

    # Headline figures are the charts' data.
    def figure(name):
        return page.inner_text(f'[data-figure="{name}"] b')

    def total(chart):
        return sum(sum(trace["y"]) for trace in shown[chart]["data"])

    assert figure("submitted") == "3" == str(total("demands_by_category")) == str(total("demands_by_district"))
    assert figure("activities") == "1" == str(total("activities_by_type"))
    assert figure("honours") == "1" == str(total("honours"))
    [seats] = shown["participation"]["data"]
    counts = dict(zip(seats["x"], seats["y"], strict=True))
    assert (counts["确认 confirmed"], counts["到场 attended"], counts["待结算 not yet closed"]) == (4, 1, 3)
    assert figure("attendance_rate") == f"{counts['到场 attended'] / counts['确认 confirmed']:.0%}" == "25%"
    # The hot spots: the month's demands by category per week and per district, and the activities
    # held on their themes beside them.
    [per_week] = shown["demand_hot_spots_by_week"]["data"]
    assert per_week["y"] == ["银企对接", "线上店铺"]
    assert per_week["x"] == ["2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22", "2026-11-29"]
    assert per_week["z"] == [[0, 2, 0, 0, 0], [0, 1, 0, 0, 0]]  # submitted on 12 November, the second week
    [per_district] = shown["demand_hot_spots_by_district"]["data"]
    assert (per_district["x"], per_district["y"]) == (["澳德乐时代广场", "德百奥莱广场"], ["银企对接", "线上店铺"])
    assert per_district["z"] == [[2, 0], [0, 1]]
    beside = {
        t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in shown["demands_and_activities_by_theme"]["data"]
    }
    assert beside == {
        "需求 demands": {"银企对接": 2, "线上店铺": 1},
        "相关活动 activities on the theme": {"银企对接": 0, "线上店铺": 1},
    }
    resolved = next(t for t in weekly["data"] if t["name"] == "已办结 resolved")
    assert figure("resolved") == str(sum(resolved["y"])) == "0"
