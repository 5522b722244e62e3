"""``alliance report --month YYYY-MM``: the month of the alliance in one HTML page with charts.

What the leadership reads: demands by category and district, how many were handled on time and how
they were rated (week by week), the demands' hot spots (heat maps by category per week and per
district) beside the activities held on those themes (an activity is on a category's theme when a
theme tag is the category's code or Chinese label), activities and attendance, honours awarded,
notifications delivered and failed. The figures come from the services' own ``stats`` methods over RPC.

- The month is the alliance's local month (``TIMEZONE``, Asia/Shanghai), and so are its weeks: seven
  days from the 1st, the last one shorter, each labelled with its dates and year.
- Codes (demand categories, districts, activity types, honours, channels) are shown by their Chinese
  labels (``LABELS``); a code without one is shown as it is.
- Each headline figure is computed from the same numbers its chart draws (``headline``).
- Chinese renders on a machine without CJK fonts: the page carries a subset of an installed CJK font
  (WenQuanYi Micro Hei, Noto Sans CJK, ...) with just the characters it shows, and names a font stack.
- plotly.js (4.6 MB) is written once beside the reports (``plotly-<version>.min.js``), shared by every
  month's page; ``self_contained=True`` inlines it instead, for a page sent on its own.
"""

import base64
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from alliance_platform.config import platform_defaults
from alliance_platform.fonts import installed_cjk_faces

LABELS = {
    # demand categories (需求清单)
    "bank_financing": "银企对接",
    "rights_protection": "权益维护",
    "policy_consultation": "政策咨询",
    "venue_sharing": "阵地共享",
    "party_affairs": "党务",
    "government_affairs": "政务",
    "labour_social_security": "劳动保障",
    "online_shop": "线上店铺",
    "other": "其他",
    # districts and the alliance
    "wholesale_city": "德百物流批发城",
    "aodele": "澳德乐时代广场",
    "outlets": "德百奥莱广场",
    "alliance": "商圈党建联盟",
    # honours
    "star_party_member_merchant": "星级党员商户",
    "party_member_model_store": "党员示范店",
    "party_member_business_plaque": "共产党员经营户",
    # activity types
    "themed_promotion": "主题消费活动",
    "training": "培训",
    "study_visit": "参观学习",
    "holiday_tutoring": "假期托管辅导",
    "evaluation": "评选",
    "symposium": "座谈会",
    "volunteer_service": "志愿服务",
    "party_meeting": "党员活动",
    # notification channels and delivery states
    "inbox": "站内信",
    "sms": "短信",
    "email": "电子邮件",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "sent": "已送达",
    "failed": "失败待重试",
    "dead": "放弃发送",
    "pending": "待发送",
    "batched": "并入摘要",
}
DELIVERY_STATES = ("sent", "batched", "pending", "failed", "dead")

# The page's font: the carried subset first, then fonts a reader's machine may have.
CARRIED_FAMILY = "Alliance Report CJK"
FONT_STACK = (
    f'"{CARRIED_FAMILY}", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC",'
    ' "Microsoft YaHei", sans-serif'
)
# Installed fonts to carry from, best first (fontconfig family names).
PREFERRED_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei")


def label(code):
    return LABELS.get(code, code)


def local_zone():
    return ZoneInfo(str(platform_defaults()["TIMEZONE"]))


def month_bounds(month, zone=None):
    """(the 1st 00:00, the next month's 1st 00:00) for ``YYYY-MM``, in the alliance's time zone."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=zone or local_zone())
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following


def weeks(since, until):
    """The month's weeks: seven days from the 1st, the last one ending with the month."""
    start = since
    while start < until:
        yield start, min(start + timedelta(days=7), until)
        start += timedelta(days=7)


@dataclass
class Figures:
    month: str
    tickets: dict
    weeks: list  # (week start, week end, tickets stats of the week)
    events: dict
    honours: list
    notifications: dict
    activities: list  # the month's activities (not cancelled), as list_activities gives them


def _month_activities(alliance, since, until):
    """The activities starting in the month, not cancelled: those held (or to be held) in it."""
    found, cursor = [], None
    while True:
        page = alliance.events.list_activities(
            starts_after=since.isoformat(), starts_before=until.isoformat(), limit=100, cursor=cursor
        )
        found += [a for a in page["items"] if a["status"] != "cancelled"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def on_theme(activity, category):
    """Whether an activity is held on a demand category's theme: one of its theme tags is the
    category's code or its Chinese label (银企对接, 线上店铺 ...)."""
    return bool({category, LABELS.get(category, category)} & set(activity.get("theme_tags") or ()))


def themes(figures):
    """Per demand category of the month: demands submitted and activities held on its theme."""
    categories = list(figures.tickets["by_category"])
    return {
        category: {
            "demands": figures.tickets["by_category"][category]["submitted"],
            "activities": sum(1 for a in figures.activities if on_theme(a, category)),
        }
        for category in categories
    }


def gather(alliance, month, zone=None):
    """Everything the report shows, read from the running services."""
    since, until = month_bounds(month, zone)
    period = {"since": since.isoformat(), "until": until.isoformat()}
    tickets = alliance.tickets.stats(**period)
    by_week = [
        (start, end, alliance.tickets.stats(since=start.isoformat(), until=end.isoformat()))
        for start, end in weeks(since, until)
    ]
    events = alliance.events.stats(**period)
    honours = []
    cursor = None
    while True:
        page = alliance.registry.list_honours(include_revoked=True, limit=100, cursor=cursor)
        honours += [h for h in page["items"] if since <= datetime.fromisoformat(str(h["awarded_at"])) < until]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    notifications = alliance.notifications.stats(**period)
    return Figures(month, tickets, by_week, events, honours, notifications, _month_activities(alliance, since, until))


def participation(events):
    """Registrations of the month's activities, as the participation chart draws them, and the
    attendance rate from the same numbers: attended of confirmed seats."""
    confirmed, attended, no_shows = events["confirmed"], events["attended"], events["no_shows"]
    return {
        "registered": events["registrations"],
        "confirmed": confirmed,
        "attended": attended,
        "no_shows": no_shows,
        "not_yet_checked": confirmed - attended - no_shows,  # activities whose books are not closed yet
        "waitlisted": events["waitlisted"],
        "rate": attended / confirmed if confirmed else None,
    }


def headline(figures):
    """The figures at the top of the page, each from the numbers of its chart."""
    total = figures.tickets["total"]
    seats = participation(figures.events)
    return {
        "submitted": sum(v["submitted"] for v in figures.tickets["by_category"].values()),
        "resolved": sum(w["total"]["resolved"] for _, _, w in figures.weeks),
        "on_time_rate": total["on_time_rate"],
        "average_rating": total["average_rating"],
        "activities": sum(figures.events["activities_by_type"].values()),
        "attendance_rate": seats["rate"],
        "attended": seats["attended"],
        "confirmed": seats["confirmed"],
        "honours": len(figures.honours),
    }


def _bar(title, codes, values, chart_id):
    import plotly.graph_objects as go

    figure = go.Figure(go.Bar(x=[label(c) for c in codes], y=values, text=values, textposition="auto"))
    figure.update_layout(title=title, meta={"chart": chart_id})
    return figure


def _day(at):
    return at.strftime("%Y-%m-%d")


def _minute(at):
    return at.strftime("%Y-%m-%d %H:%M")


def _local_minute(at):
    """``2026-11-30 17:30 +08:00``"""
    offset = at.strftime("%z")
    return f"{_minute(at)} {offset[:3]}:{offset[3:]}"


def charts(figures):
    """The page's plotly figures, each tagged with ``layout.meta.chart`` (what tests look for)."""
    import plotly.graph_objects as go

    by_category = figures.tickets["by_category"]
    by_district = figures.tickets["by_district"]
    out = [
        _bar(
            "需求按类别 Demands by category",
            list(by_category),
            [v["submitted"] for v in by_category.values()],
            "demands_by_category",
        ),
        _bar(
            "需求按商圈 Demands by district",
            list(by_district),
            [v["submitted"] for v in by_district.values()],
            "demands_by_district",
        ),
    ]

    starts = [_day(start) for start, _, _ in figures.weeks]
    spans = [f"{_day(start)} – {_day(end - timedelta(days=1))}" for start, end, _ in figures.weeks]
    totals = [w["total"] for _, _, w in figures.weeks]
    trend = go.Figure()
    resolved = [t["resolved"] for t in totals]
    trend.add_trace(
        go.Bar(
            x=starts,
            y=resolved,
            name="已办结 resolved",
            hovertext=spans,
            yaxis="y3",
            marker={"color": "#b0bec5", "opacity": 0.5},
        )
    )
    trend.add_trace(
        go.Scatter(
            x=starts,
            y=[t["on_time_rate"] for t in totals],
            name="按时办结率 on time",
            hovertext=spans,
            mode="lines+markers",
        )
    )
    trend.add_trace(
        go.Scatter(
            x=starts,
            y=[t["average_rating"] for t in totals],
            name="平均评分 rating",
            hovertext=spans,
            yaxis="y2",
            mode="lines+markers",
        )
    )
    first, following = month_bounds(figures.month, figures.weeks[0][0].tzinfo)
    trend.update_layout(
        title="按时率与满意度（按周） On-time rate and rating by week",
        meta={"chart": "weekly_on_time_and_rating"},
        xaxis={
            "type": "date",
            "range": [_minute(first - timedelta(hours=12)), _minute(following - timedelta(hours=12))],
            "tickvals": starts,
            "ticktext": [f"{s[:4]}<br>{s[5:]}" for s in starts],
            "title": "周起始日 week from",
        },
        yaxis={"title": "on-time rate", "range": [0, 1.05], "tickformat": ".0%"},
        yaxis2={"title": "rating (1–5)", "overlaying": "y", "side": "right", "range": [0, 5.2], "dtick": 1},
        yaxis3={"overlaying": "y", "visible": False, "range": [0, 2 * max(resolved, default=0) or 1]},
        barmode="overlay",
    )
    out.append(trend)

    out += _hot_spots(figures, starts, spans)

    by_type = figures.events["activities_by_type"]
    out.append(_bar("活动按类型 Activities by type", list(by_type), list(by_type.values()), "activities_by_type"))

    seats = participation(figures.events)
    rate = "—" if seats["rate"] is None else f"{seats['rate']:.0%}"
    out.append(
        _bar(
            f"活动参与 Participation — 到场率 {rate}（到场 {seats['attended']} / 确认 {seats['confirmed']}）",
            [
                "报名 registered",
                "确认 confirmed",
                "到场 attended",
                "缺席 no-shows",
                "待结算 not yet closed",
                "候补 waiting",
            ],
            [
                seats["registered"],
                seats["confirmed"],
                seats["attended"],
                seats["no_shows"],
                seats["not_yet_checked"],
                seats["waitlisted"],
            ],
            "participation",
        )
    )

    kinds = {}
    for honour in figures.honours:
        kinds[honour["kind"]] = kinds.get(honour["kind"], 0) + 1
    out.append(_bar("授予荣誉 Honours awarded", list(kinds), list(kinds.values()), "honours"))

    by_channel = figures.notifications["deliveries"]
    delivered = go.Figure()
    for state in DELIVERY_STATES:
        delivered.add_trace(
            go.Bar(
                name=label(state), x=[label(c) for c in by_channel], y=[c.get(state, 0) for c in by_channel.values()]
            )
        )
    delivered.update_layout(
        barmode="stack", title="通知送达 Notifications by channel", meta={"chart": "notifications_by_channel"}
    )
    out.append(delivered)
    for figure in out:
        figure.update_layout(font={"family": FONT_STACK}, height=380, margin={"t": 70, "b": 60, "l": 50, "r": 50})
    return out


def _hot_spots(figures, starts, spans):
    """Where the month's demands come from (a heat map per week and per district, by category), and
    beside them the activities held on those themes: what the next month's activities could answer."""
    import plotly.graph_objects as go

    categories = list(figures.tickets["by_category"])
    rows = [label(c) for c in categories]
    per_week = [[w["by_category"].get(c, {}).get("submitted", 0) for _, _, w in figures.weeks] for c in categories]
    by_week = go.Figure(
        go.Heatmap(
            x=starts, y=rows, z=per_week, text=per_week, texttemplate="%{text}", hovertext=[spans] * len(rows),
            colorscale="YlOrRd", showscale=False,
        )
    )  # fmt: skip
    by_week.update_layout(
        title="需求热点（按周） Demand hot spots by week",
        meta={"chart": "demand_hot_spots_by_week"},
        xaxis={"type": "category", "title": "周起始日 week from"},
    )
    districts = list(figures.tickets["by_district"])
    cells = figures.tickets.get("by_district_category", {})
    per_district = [[cells.get(f"{d}/{c}", {}).get("submitted", 0) for d in districts] for c in categories]
    by_district = go.Figure(
        go.Heatmap(
            x=[label(d) for d in districts], y=rows, z=per_district, text=per_district, texttemplate="%{text}",
            colorscale="YlOrRd", showscale=False,
        )
    )  # fmt: skip
    by_district.update_layout(
        title="需求热点（按商圈） Demand hot spots by district", meta={"chart": "demand_hot_spots_by_district"}
    )
    theme = themes(figures)
    beside = go.Figure(
        [
            go.Bar(name="需求 demands", x=rows, y=[theme[c]["demands"] for c in categories]),
            go.Bar(name="相关活动 activities on the theme", x=rows, y=[theme[c]["activities"] for c in categories]),
        ]
    )
    beside.update_layout(
        barmode="group",
        title="需求与相关活动 Demands and the activities held on their themes",
        meta={"chart": "demands_and_activities_by_theme"},
    )
    return [by_week, by_district, beside]


def find_cjk_font():
    """(path, index in its collection) of an installed font with Chinese glyphs, or None."""
    fonts = installed_cjk_faces(timeout=30)
    for family in PREFERRED_FONTS:
        if family in fonts:
            return fonts[family]
    return next(iter(fonts.values()), None)


def carried_font(text, font):
    """A WOFF subset of ``font`` (path, index) with the glyphs of ``text``, as a data: URL."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path, index = font
    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False
    options.desubroutinize = True
    options.drop_tables += ["FFTM"]
    with TTFont(path, fontNumber=index) as face:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(face)
        face.flavor = "woff"
        buffer = io.BytesIO()
        face.save(buffer)
    return "data:font/woff;base64," + base64.b64encode(buffer.getvalue()).decode()


# Characters plotly may draw beyond the page's own text: numbers, axis and hover labels.
_ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F)) + "–—·%（）：，、。"


def _json(value):
    """JSON for a <script> element: Chinese as it is, no "</" that would end the element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def plotly_asset():
    """(file name, content) of the plotly.js the charts need."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    return f"plotly-{get_plotlyjs_version()}.min.js", get_plotlyjs()


def render(figures, now=None, zone=None, font=None, plotly_src=None):
    """The page's HTML. ``font``: (path, index) of the font to carry (default: an installed CJK
    font; none found: only the stack is named). ``plotly_src``: the script's URL beside the page;
    None inlines plotly.js."""
    zone = zone or local_zone()
    environment = Environment(undefined=StrictUndefined, autoescape=True)
    page = environment.from_string(
        resources.files("alliance_ops").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    )
    specs = [json.loads(chart.to_json()) for chart in charts(figures)]
    # plotly writes its default template (some 8 KiB) into every figure: written once, shared.
    shared_template = specs[0]["layout"].get("template")
    if all(spec["layout"].get("template") == shared_template for spec in specs):
        for spec in specs:
            spec["layout"].pop("template", None)
    else:
        shared_template = None
    context = {
        "month": figures.month,
        "generated": _local_minute((now or datetime.now(zone)).astimezone(zone)),
        "zone": str(zone),
        "head": headline(figures),
        "font_stack": FONT_STACK,
        "carried_family": CARRIED_FAMILY,
        "charts": [Markup(_json(spec)) for spec in specs],
        "template": Markup(_json(shared_template)),
        "percent": lambda v: "—" if v is None else f"{v:.0%}",
        "number": lambda v: "—" if v is None else f"{v:.1f}",
    }
    text = page.render(**context, font_url=None, plotly_src=None, plotly_js=None)
    font = font or find_cjk_font()
    font_url = carried_font(text + _ALWAYS, font) if font else None
    plotly_js = None
    if plotly_src is None:
        plotly_js = Markup(plotly_asset()[1].replace("</script", "<\\/script"))
    return page.render(**context, font_url=font_url, plotly_src=plotly_src, plotly_js=plotly_js)


def write(figures, out_path, self_contained=False, font=None):
    """Write the page (and, unless self-contained, the shared plotly.js beside it, once).
    Returns the paths written or kept."""
    out_path = Path(out_path)
    written = [out_path]
    plotly_src = None
    if not self_contained:
        name, script = plotly_asset()
        asset = out_path.parent / name
        if not asset.exists() or asset.stat().st_size != len(script.encode()):
            asset.write_text(script, encoding="utf-8")
        written.append(asset)
        plotly_src = name
    out_path.write_text(render(figures, font=font, plotly_src=plotly_src), encoding="utf-8")
    return written
