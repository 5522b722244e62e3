"""``alliance report --month YYYY-MM``: the month of the alliance in one HTML file with charts.

What the leadership reads: demands by category and district, how many were handled on time and how
they were rated (week by week), activities and attendance, honours awarded, notifications delivered
and failed. The figures come from the services' own ``stats`` methods over RPC; the charts are
plotly, embedded in the file, so it opens anywhere without a network.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import plotly.graph_objects as go
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

DISTRICT_NAMES = {"wholesale_city": "德百物流批发城", "aodele": "澳德乐时代广场", "outlets": "德百奥莱广场"}
HONOUR_NAMES = {
    "star_party_member_merchant": "星级党员商户",
    "party_member_model_store": "党员示范店",
    "party_member_business_plaque": "共产党员经营户",
}


def month_bounds(month):
    """(first day 00:00 UTC, first day of the next month) for ``YYYY-MM``."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _weeks(since, until):
    start = since
    while start < until:
        yield start, min(start + timedelta(days=7), until)
        start += timedelta(days=7)


@dataclass
class Figures:
    month: str
    tickets: dict
    weeks: list  # (week start, tickets stats of the week)
    events: dict
    honours: list
    notifications: dict


def gather(alliance, month):
    """Everything the report shows, read from the running services."""
    since, until = month_bounds(month)
    period = {"since": since.isoformat(), "until": until.isoformat()}
    tickets = alliance.tickets.stats(**period)
    weeks = [
        (start, alliance.tickets.stats(since=start.isoformat(), until=end.isoformat()))
        for start, end in _weeks(since, until)
    ]
    events = alliance.events.stats(**period)
    honours = []
    cursor = None
    while True:
        page = alliance.registry.list_honours(include_revoked=True, limit=100, cursor=cursor)
        honours += [h for h in page["items"] if since.isoformat() <= str(h["awarded_at"]) < until.isoformat()]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    notifications = alliance.notifications.stats(**period)
    return Figures(month, tickets, weeks, events, honours, notifications)


def _bar(title, labels, values, name=None):
    figure = go.Figure(go.Bar(x=labels, y=values, name=name, text=values, textposition="auto"))
    figure.update_layout(title=title, height=360, margin={"t": 60, "b": 40, "l": 40, "r": 20})
    return figure


def charts(figures):
    tickets = figures.tickets
    by_category = tickets["by_category"]
    by_district = tickets["by_district"]
    out = [
        _bar("需求按类别 Demands by category", list(by_category), [v["submitted"] for v in by_category.values()]),
        _bar(
            "需求按商圈 Demands by district",
            [DISTRICT_NAMES.get(d, d) for d in by_district],
            [v["submitted"] for v in by_district.values()],
        ),
    ]
    trend = go.Figure()
    weeks = [start.strftime("%m-%d") for start, _ in figures.weeks]
    trend.add_trace(
        go.Scatter(x=weeks, y=[w["total"]["on_time_rate"] for _, w in figures.weeks], name="按时办结率 on time")
    )
    trend.add_trace(
        go.Scatter(
            x=weeks, y=[w["total"]["average_rating"] for _, w in figures.weeks], name="平均评分 rating", yaxis="y2"
        )
    )
    trend.update_layout(
        title="按时率与满意度（按周） On-time rate and rating by week",
        yaxis={"title": "on-time rate", "range": [0, 1.05]},
        yaxis2={"title": "rating (1–5)", "overlaying": "y", "side": "right", "range": [0, 5.2]},
        height=360,
    )
    out.append(trend)
    events = figures.events
    out.append(
        _bar(
            "活动按类型 Activities by type",
            list(events["activities_by_type"]),
            list(events["activities_by_type"].values()),
        )
    )
    attendance = go.Figure(
        go.Bar(
            x=["报名 registered", "确认 confirmed", "到场 attended", "缺席 no-shows", "候补 waiting"],
            y=[
                events["registrations"],
                events["confirmed"],
                events["attended"],
                events["no_shows"],
                events["waitlisted"],
            ],
        )
    )
    attendance.update_layout(title="活动参与 Participation", height=360)
    out.append(attendance)
    kinds = {}
    for honour in figures.honours:
        name = HONOUR_NAMES.get(honour["kind"], honour["kind"])
        kinds[name] = kinds.get(name, 0) + 1
    out.append(_bar("授予荣誉 Honours awarded", list(kinds), list(kinds.values())))
    by_channel = figures.notifications["deliveries"]
    if by_channel:
        delivered = go.Figure()
        for status in ("sent", "failed", "dead", "pending"):
            delivered.add_trace(
                go.Bar(name=status, x=list(by_channel), y=[c.get(status, 0) for c in by_channel.values()])
            )
        delivered.update_layout(barmode="stack", title="通知送达 Notifications by channel", height=360)
        out.append(delivered)
    return out


def render(figures, now=None):
    environment = Environment(undefined=StrictUndefined, autoescape=True)
    page = environment.from_string(
        resources.files("alliance_platform").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    )
    # plotly.js once, with the first chart: the file then opens offline.
    html_charts = [chart.to_html(full_html=False, include_plotlyjs=(n == 0)) for n, chart in enumerate(charts(figures))]
    return page.render(
        month=figures.month,
        generated=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        tickets=figures.tickets,
        events=figures.events,
        honours=figures.honours,
        charts=[Markup(c) for c in html_charts],
        percent=lambda v: "—" if v is None else f"{v:.0%}",
        number=lambda v: "—" if v is None else f"{v:.1f}",
    )
