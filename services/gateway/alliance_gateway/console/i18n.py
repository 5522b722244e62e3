"""The console's languages: every text is a key of ``messages.yaml`` (zh-CN first, English), and
the services' messages (validation, refusals) are translated there where a translation exists.

The language: ``?lang=`` (kept in a cookie), else the cookie, else Accept-Language; Chinese by
default."""

import re
from functools import cache
from importlib import resources

import yaml

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
LANG_COOKIE = "alliance_lang"


@cache
def catalogue():
    text = resources.files("alliance_gateway.console").joinpath("messages.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    patterns = [(re.compile(p["match"]), p["zh-CN"]) for p in loaded.get("service_patterns", [])]
    return loaded["messages"], loaded.get("service_messages", {}), patterns


def negotiate(request):
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    if kept in LANGUAGES:
        return kept
    for choice, _quality in request.accept_languages:  # werkzeug sorts by quality
        tag = choice.lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def translate(lang, key, **params):
    messages = catalogue()[0]
    entry = messages.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**params) if params else text


def has(key):
    return key in catalogue()[0]


def service_message(lang, message):
    """A service's message (a ValidationError's field message, a refusal) in ``lang``: the
    catalogue's translation when it has one, else as the service said it."""
    message = str(message)
    if lang == "en":
        return message
    _messages, exact, patterns = catalogue()
    if message in exact:
        return exact[message]
    for pattern, replacement in patterns:
        found = pattern.fullmatch(message)
        if found:
            return replacement.format(*found.groups(), **found.groupdict())
    return message
