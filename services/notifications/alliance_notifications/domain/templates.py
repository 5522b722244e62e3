"""Message templates: Jinja2 with ``StrictUndefined``, zh-CN by default and English.

A template file (``<name>.yaml`` in the templates folder) holds, per language, the parts each
channel needs: ``title`` and ``body`` (inbox, e-mail), ``sms`` (one short line) and optionally
``robot`` (group robots; default: title and body). It names the events it is rendered for
(``events: [tickets.ticket_submitted]``) or, for templates used by ``send`` and the digest, an
``example`` of its variables.

Every template is checked when the templates load, never when a message is due: a variable the
event's contract does not carry, a syntax error, a part that fails on any documented example of
the contract, or an SMS longer than the limit on those examples stops the service from starting.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml
from jinja2 import Environment, StrictUndefined, TemplateError, meta, pass_context

from alliance_contracts import get_contract, versions

LANGUAGES = ("zh-CN", "en")
PARTS = ("title", "body", "sms")
OPTIONAL_PARTS = ("robot",)
LABELS_FILE = "labels.yaml"
_SPACE = re.compile(r"\s+")


class TemplatesInvalid(Exception):
    """A template (or the templates folder) is unusable; the service must not start with it."""


class RenderError(Exception):
    """Rendering failed at run time (e.g. ``send`` without a variable its template uses)."""


def fit_sms(text, limit, signature=""):
    """One line of at most ``limit`` characters including the gateway's ``signature``; a longer
    text is cut and ends with an ellipsis rather than being split into several paid messages."""
    line = _SPACE.sub(" ", text).strip()
    room = limit - len(signature)
    if len(line) <= room:
        return line
    return line[: max(0, room - 1)] + "…"


@dataclass(frozen=True)
class Template:
    name: str
    events: tuple  # ((source, event_type), ...)
    example: dict | None
    sources: dict  # language -> part -> template text
    parts: dict  # language -> part -> jinja2.Template


class Templates:
    """The loaded, checked templates; ``render(name, variables)`` -> language -> parts."""

    def __init__(self, folder, timezone, sms_limit, sms_signature=""):
        self.folder = Path(folder)
        self.timezone = timezone
        self.sms_limit = int(sms_limit)
        self.sms_signature = sms_signature or ""
        self.labels = self._load_labels()
        self.env = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(when=self._when, day=self._day, label=self._label)
        self.templates = {}
        for path in sorted(self.folder.glob("*.yaml")):
            if path.name != LABELS_FILE:
                template = self._load(path)
                self.templates[template.name] = template
        if not self.templates:
            raise TemplatesInvalid(f"no templates in {self.folder}")
        for template in self.templates.values():
            self._check(template)

    def __contains__(self, name):
        return name in self.templates

    def events_of(self, name):
        return self.templates[name].events

    def render(self, name, variables):
        """The message in every language: {language: {"title", "body", "sms", "robot"}}."""
        return {language: self.finish(parts) for language, parts in self._render_raw(name, variables).items()}

    def _render_raw(self, name, variables):
        template = self.templates[name]
        rendered = {}
        for language in LANGUAGES:
            context = {**variables, "lang": language}
            try:
                rendered[language] = {part: t.render(context).strip() for part, t in template.parts[language].items()}
            except TemplateError as exc:
                raise RenderError(f"template {name} ({language}): {exc}") from exc
        return rendered

    def finish(self, parts):
        """Channel-ready parts: the SMS fitted to its limit, the robot text defaulted."""
        return {
            "title": parts["title"],
            "body": parts["body"],
            "sms": fit_sms(parts["sms"], self.sms_limit, self.sms_signature),
            "robot": parts.get("robot") or f"{parts['title']}\n{parts['body']}",
        }

    def literal(self, title, body):
        """A message written by the caller of ``send``, the same in every language."""
        return {language: self.finish({"title": title, "body": body, "sms": body}) for language in LANGUAGES}

    # loading and checking -----------------------------------------------------------------------

    def _load_labels(self):
        path = self.folder / LABELS_FILE
        if not path.exists():
            return {language: {} for language in LANGUAGES}
        labels = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {language: dict(labels.get(language) or {}) for language in LANGUAGES}

    def _load(self, path):
        name = path.stem
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TemplatesInvalid(f"{path.name}: not valid YAML: {exc}") from exc
        events = []
        for qualified in document.get("events") or []:
            source, _, event_type = str(qualified).partition(".")
            if not versions(source, event_type):
                raise TemplatesInvalid(f"{path.name}: no event contract for {qualified!r}")
            events.append((source, event_type))
        example = document.get("example")
        if bool(events) == (example is not None):
            raise TemplatesInvalid(f"{path.name}: name the events it is for, or give an example of its variables")
        sources, parts = {}, {}
        for language in LANGUAGES:
            texts = document.get(language)
            if not isinstance(texts, dict):
                raise TemplatesInvalid(f"{path.name}: no {language} texts")
            missing = [part for part in PARTS if not texts.get(part)]
            unknown = sorted(set(texts) - set(PARTS) - set(OPTIONAL_PARTS))
            if missing or unknown:
                raise TemplatesInvalid(f"{path.name} {language}: missing parts {missing}, unknown parts {unknown}")
            sources[language] = {part: str(text) for part, text in texts.items()}
            parts[language] = {
                part: self._compile(path.name, language, part, text) for part, text in sources[language].items()
            }
        return Template(name, tuple(events), example, sources, parts)

    def _compile(self, file, language, part, text):
        try:
            return self.env.from_string(text)
        except TemplateError as exc:
            raise TemplatesInvalid(f"{file} {language}.{part}: {exc}") from exc

    def _check(self, template):
        """Every variable is carried by every event the template is for, and every documented
        example renders in every language with an SMS within the limit."""
        cases = []
        if template.example is not None:
            cases.append(("example", set(template.example), template.example))
        for source, event_type in template.events:
            for version in versions(source, event_type):
                contract = get_contract(source, event_type, version)
                for n, example in enumerate(contract.examples, 1):
                    # Loaded as a handler receives it: dates and times as Python values.
                    payload = contract.schema.load(example)
                    cases.append(
                        (f"{source}.{event_type} v{version} example {n}", set(contract.schema.fields), payload)
                    )
        for language, texts in template.sources.items():
            for part, text in texts.items():
                used = meta.find_undeclared_variables(self.env.parse(text))
                for case, carried, _ in cases:
                    missing = sorted(used - carried - {"lang"})
                    if missing:
                        raise TemplatesInvalid(
                            f"{template.name}.yaml {language}.{part} uses {missing}, which {case} does not carry"
                        )
        for case, _, variables in cases:
            try:
                rendered = self._render_raw(template.name, variables)
            except RenderError as exc:
                raise TemplatesInvalid(f"{exc} (on {case})") from exc
            for language, parts in rendered.items():
                sms = _SPACE.sub(" ", parts["sms"]).strip()
                if len(self.sms_signature) + len(sms) > self.sms_limit:
                    raise TemplatesInvalid(
                        f"{template.name}.yaml {language}.sms is {len(self.sms_signature) + len(sms)} characters"
                        f" with the signature on {case}; the limit is {self.sms_limit}"
                    )

    # filters -----------------------------------------------------------------------------------

    @pass_context
    def _when(self, context, value):
        moment = _as_datetime(value).astimezone(self.timezone)
        if context.get("lang") == "en":
            return f"{moment.day} {moment:%b} {moment:%H:%M}"
        return f"{moment.month}月{moment.day}日 {moment:%H:%M}"

    @pass_context
    def _day(self, context, value):
        day = value if isinstance(value, date) and not isinstance(value, datetime) else _as_datetime(value).date()
        if context.get("lang") == "en":
            return f"{day.day} {day:%b} {day.year}"
        return f"{day.year}年{day.month}月{day.day}日"

    @pass_context
    def _label(self, context, value):
        language = context.get("lang") or LANGUAGES[0]
        key = str(value)
        return self.labels[language].get(key) or self.labels[LANGUAGES[0]].get(key) or key


def _as_datetime(value):
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TemplateError(f"not a date and time: {value!r}")
