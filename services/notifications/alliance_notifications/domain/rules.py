"""Rules: which event notifies whom, with which template, category and urgency — data, not code.

The rules file (``rules.yaml`` in this package, or the file ``NOTIFICATIONS_RULES_FILE`` names)
holds the alliance-wide ``defaults`` (time zone, trading hours, digest time, channels by role), the
``categories`` people choose by, and the ``rules``::

    - name: ticket_received               # unique; deliveries and stats name it
      event: tickets.ticket_submitted     # an event this service subscribes to
      when: {to_status: waiting_on_merchant, responsible_id: {present: true}, level: [1, 2],
             changed: {includes_any: [starts_at, venue]}}   # the list field shares an item with these
      to: {merchant: merchant_id}         # exactly one recipient kind, naming a payload field
      template: ticket_received           # a template written for this event
      category: demands
      urgency: normal                     # urgent (ignores quiet hours), normal, low (may wait for the digest)
      channels: [inbox, sms]              # optional: replaces the recipients' default channels
      escalate:                           # optional: while the inbox message is unread (escalation.py)
        - {after_working_minutes: 30, channel: wecom}
        - {after_working_minutes: 120, channel: sms}

Recipient kinds are those of ``audiences.py``. Everything is checked against the event contracts
when the rules load; a wrong rule stops the service from starting, never a message.

The service subscribes to exactly the events the shipped file names (``subscriptions``): its
handlers are generated from them, and an operator's file may name only those.
"""

from dataclasses import dataclass
from datetime import time
from pathlib import Path

import yaml
from marshmallow import fields as marshmallow_fields

from alliance_contracts import get_contract, versions

from .audiences import RECIPIENT_KINDS, Recipients
from .deliveries import CHANNELS
from .escalation import ChainInvalid, parse_chain, through_quiet_hours
from .preferences import URGENCIES, Policy
from .timing import QuietHours

# The shipped rules file, beside the package's templates; an operator may name another.
DEFAULT_RULES = Path(__file__).parents[1] / "rules.yaml"


class RulesInvalid(Exception):
    """The rules file is unusable; the service must not start with it."""


@dataclass(frozen=True)
class Condition:
    field: str
    equals: object = None
    one_of: tuple | None = None
    present: bool | None = None
    includes_any: frozenset | None = None  # a list field holding at least one of these

    def holds(self, payload):
        value = payload.get(self.field)
        if self.present is not None:
            return (value is not None) == self.present
        if self.includes_any is not None:
            return not self.includes_any.isdisjoint(value or ())
        if self.one_of is not None:
            return value in self.one_of
        return value == self.equals


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    event_type: str
    when: tuple
    to: Recipients
    template: str
    category: str
    urgency: str
    channels: tuple | None
    escalate: tuple = ()  # escalation.Step, in order; empty: no chain

    @property
    def escalates_in_quiet_hours(self):
        return through_quiet_hours(self.urgency, self.source, self.event_type)

    def matches(self, payload):
        return all(condition.holds(payload) for condition in self.when)


class Rules:
    """The loaded rules and defaults; ``match(event)`` -> the rules that fire, in file order."""

    def __init__(self, document, templates, handled, timezone):
        """``templates``: the loaded ``Templates``; ``handled``: the (source, event_type) pairs
        this service subscribes to; ``timezone``: where trading hours and digest times are."""
        if not isinstance(document, dict):
            raise RulesInvalid("the rules file must be a mapping with defaults, categories and rules")
        self.policy = _policy(document.get("defaults") or {}, document.get("categories") or [], timezone)
        self.categories = self.policy.categories
        self.rules = []
        seen = set()
        for n, entry in enumerate(document.get("rules") or [], 1):
            rule = _rule(n, entry, templates, handled, self.categories)
            if rule.name in seen:
                raise RulesInvalid(f"rule {rule.name!r} is defined twice")
            seen.add(rule.name)
            self.rules.append(rule)
        self.by_name = {rule.name: rule for rule in self.rules}
        self._by_event = {}
        for rule in self.rules:
            self._by_event.setdefault((rule.source, rule.event_type), []).append(rule)

    @classmethod
    def load(cls, path, templates, handled, timezone):
        path = Path(path or DEFAULT_RULES)
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RulesInvalid(f"cannot read the rules file {path}: {exc}") from exc
        return cls(document, templates, handled, timezone)

    def match(self, source, event_type, payload):
        return [rule for rule in self._by_event.get((source, event_type), []) if rule.matches(payload)]


def subscriptions(path=DEFAULT_RULES):
    """The (source, event_type) pairs the rules file names, in the order it names them first."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    named = (str(rule["event"]).partition(".") for rule in document["rules"])
    return tuple(dict.fromkeys((source, event_type) for source, _, event_type in named))


def _time(value, what):
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise RulesInvalid(f"defaults.{what}: {value!r} is not a time of day (HH:MM)") from exc


def _policy(defaults, categories, timezone):
    hours = defaults.get("trading_hours") or {}
    opens, closes = (
        _time(hours.get("opens", "08:00"), "trading_hours.opens"),
        _time(hours.get("closes", "21:00"), "trading_hours.closes"),
    )
    channels = {role: tuple(chosen) for role, chosen in (defaults.get("channels") or {}).items()}
    for role, chosen in channels.items():
        unknown = set(chosen) - set(CHANNELS)
        if unknown:
            raise RulesInvalid(f"defaults.channels.{role}: unknown channels {sorted(unknown)}")
    if not categories or not all(isinstance(c, str) for c in categories):
        raise RulesInvalid("categories: list the categories people choose channels by")
    return Policy(
        timezone=timezone,
        default_channels=channels,
        quiet_hours=QuietHours(start=closes, end=opens),
        digest_at=_time(defaults.get("digest_at", "18:00"), "digest_at"),
        default_language=defaults.get("language", "zh-CN"),
        districts=tuple(defaults.get("districts") or ()),
        categories=tuple(categories),
    )


def _rule(n, entry, templates, handled, categories):
    where = f"rule {n} ({entry.get('name', '?') if isinstance(entry, dict) else '?'})"
    if not isinstance(entry, dict):
        raise RulesInvalid(f"{where}: a rule is a mapping")
    unknown = set(entry) - {"name", "event", "when", "to", "template", "category", "urgency", "channels", "escalate"}
    missing = {"name", "event", "to", "template", "category"} - set(entry)
    if unknown or missing:
        raise RulesInvalid(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    source, _, event_type = str(entry["event"]).partition(".")
    if (source, event_type) not in handled:
        raise RulesInvalid(
            f"{where}: event {entry['event']!r}: this service handles only {sorted(f'{s}.{t}' for s, t in handled)}"
        )
    contract_fields = get_contract(source, event_type, versions(source, event_type)[-1]).schema.fields
    fields = set.intersection(
        *(set(get_contract(source, event_type, v).schema.fields) for v in versions(source, event_type))
    )

    def field(name, what):
        if name not in fields:
            raise RulesInvalid(f"{where}: {what} {name!r} is not a field of {entry['event']}; it has {sorted(fields)}")
        return name

    when = []
    for name, test in (entry.get("when") or {}).items():
        field(name, "when")
        if isinstance(test, dict) and set(test) == {"includes_any"}:
            if not isinstance(contract_fields[name], marshmallow_fields.List):
                raise RulesInvalid(f"{where}: when.{name}: includes_any needs a list field")
            if not isinstance(test["includes_any"], list) or not test["includes_any"]:
                raise RulesInvalid(f"{where}: when.{name}: includes_any takes a non-empty list")
            when.append(Condition(name, includes_any=frozenset(test["includes_any"])))
        elif isinstance(test, dict):
            if set(test) != {"present"} or not isinstance(test["present"], bool):
                raise RulesInvalid(
                    f"{where}: when.{name}: a mapping must be {{present: true}}, {{present: false}}"
                    " or {includes_any: [...]}"
                )
            when.append(Condition(name, present=test["present"]))
        elif isinstance(test, list):
            when.append(Condition(name, one_of=tuple(test)))
        else:
            when.append(Condition(name, equals=test))
    to = entry["to"]
    kinds = [k for k in RECIPIENT_KINDS if isinstance(to, dict) and k in to]
    if len(kinds) != 1 or set(to) - {kinds[0], "in_district"} or ("in_district" in to and kinds[0] != "role"):
        raise RulesInvalid(f"{where}: to: name exactly one of {list(RECIPIENT_KINDS)} (role may add in_district)")
    kind = kinds[0]
    if kind == "role":
        recipients = Recipients("role", role=str(to["role"]), in_district=to.get("in_district"))
        if recipients.in_district:
            field(recipients.in_district, "in_district")
    else:
        recipients = Recipients(kind, field=field(to[kind], f"to.{kind}"))
    template = entry["template"]
    if template not in templates:
        raise RulesInvalid(f"{where}: no template {template!r}")
    if (source, event_type) not in templates.events_of(template):
        raise RulesInvalid(f"{where}: template {template!r} is not written for {entry['event']} (see its events:)")
    if entry["category"] not in categories:
        raise RulesInvalid(f"{where}: category {entry['category']!r} is not one of {list(categories)}")
    urgency = entry.get("urgency", "normal")
    if urgency not in URGENCIES:
        raise RulesInvalid(f"{where}: urgency {urgency!r} is not one of {list(URGENCIES)}")
    channels = entry.get("channels")
    if channels is not None and (not channels or set(channels) - set(CHANNELS)):
        raise RulesInvalid(f"{where}: channels must be a non-empty list of {list(CHANNELS)}")
    escalate = ()
    if "escalate" in entry:
        try:
            escalate = parse_chain(entry["escalate"])
        except ChainInvalid as exc:
            raise RulesInvalid(f"{where}: {exc}") from exc
        if kind == "staff_group":
            raise RulesInvalid(f"{where}: escalate needs an inbox message to escalate from; a staff group has none")
    return Rule(
        name=str(entry["name"]),
        source=source,
        event_type=event_type,
        when=tuple(when),
        to=recipients,
        template=template,
        category=entry["category"],
        urgency=urgency,
        channels=tuple(channels) if channels else None,
        escalate=escalate,
    )
