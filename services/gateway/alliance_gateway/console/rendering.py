"""Jinja2 templates of the console (``templates/``), autoescaped, with the catalogue's ``t()`` and
filters for moments and durations in the centre's time zone."""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from . import i18n

ZONE = ZoneInfo("Asia/Shanghai")


def moment(value, lang="zh-CN", fmt="%Y-%m-%d %H:%M"):
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ZONE).strftime(fmt)


def duration(seconds, lang="zh-CN"):
    """A span of working time in hours and minutes (a working day is not 24 hours: no days)."""
    hours, minutes = divmod(int(abs(seconds) // 60), 60)
    parts = []
    if hours:
        parts.append(i18n.translate(lang, "time.hours", n=hours))
    if minutes or not hours:
        parts.append(i18n.translate(lang, "time.minutes", n=minutes))
    return (" " if lang == "en" else "").join(parts)


@cache
def environment():
    env = Environment(
        loader=PackageLoader("alliance_gateway.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["moment"] = moment
    return env


def render(template, lang, **context):
    def t(key, **params):
        return i18n.translate(lang, key, **params)

    def label(prefix, value):
        """``prefix.value`` from the catalogue, else the value itself (a status, a category)."""
        key = f"{prefix}.{value}"
        return i18n.translate(lang, key) if i18n.has(key) else value

    return (
        environment()
        .get_template(template)
        .render(
            t=t,
            label=label,
            lang=lang,
            languages=i18n.LANGUAGES,
            duration=lambda seconds: duration(seconds, lang),
            **context,
        )
    )
