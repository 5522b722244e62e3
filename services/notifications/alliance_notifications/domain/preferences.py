"""Who gets what on which channel: defaults by role, a person's opt-ins and opt-outs per category
and channel, quiet hours and the daily digest. Plain Python; the use cases store and load them.

The inbox is everyone's record: it cannot be turned off, and is never left out.
"""

import re
from dataclasses import dataclass, field
from datetime import time

from alliance_platform.errors import ValidationError

from . import recipients
from .deliveries import CHANNELS, INBOX, ROBOTS
from .timing import QuietHours, next_digest_at

URGENCIES = ("urgent", "normal", "low")
ALL_CATEGORIES = "*"
# What nobody can opt out of: a message a person needs in order to act at all (the one-time code
# that signs them in to the console) goes on exactly the channels it is sent on. Not a category
# people choose by, so preferences cannot name it.
ESSENTIAL_CATEGORIES = ("account_security",)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Policy:
    """The alliance-wide defaults, read from the rules file."""

    timezone: object  # zoneinfo.ZoneInfo
    default_channels: dict  # role ("merchant", "staff") -> channels
    quiet_hours: QuietHours  # outside trading hours
    digest_at: time
    default_language: str
    districts: tuple  # the alliance's districts: an audience that names none means all of them
    categories: tuple = ()

    def channels_of_role(self, role):
        return self.default_channels.get(role, (INBOX,))

    def digest_at_after(self, now):
        return next_digest_at(now, self.digest_at, self.timezone)


@dataclass(frozen=True)
class Preferences:
    recipient: str
    channels: dict = field(default_factory=dict)  # category or "*" -> {channel: bool}
    quiet_hours: QuietHours | None = None  # None: the policy's
    digest: bool = False
    email: str | None = None

    @classmethod
    def from_row(cls, row):
        quiet = None
        if row["quiet_start"] is not None and row["quiet_end"] is not None:
            quiet = QuietHours(row["quiet_start"], row["quiet_end"])
        return cls(row["recipient"], row["channels"] or {}, quiet, row["digest"], row["email"])

    def choice(self, category, channel):
        """True (opted in), False (opted out) or None (no choice: the defaults decide)."""
        for scope in (category, ALL_CATEGORIES):
            value = self.channels.get(scope, {}).get(channel)
            if value is not None:
                return value
        return None


def channels_for(policy, role, category, rule_channels=None, prefs=None):
    """The channels a recipient of ``role`` gets a message of ``category`` on, in a stable order.

    The rule's channels (or the role's defaults) come first; the person's explicit choices then
    add or remove channels (not for an essential category). The inbox is everyone's record and is
    never left out; staff groups have only their robots.
    """
    if role == "group":
        base = set(rule_channels or ROBOTS) & set(ROBOTS)
        return tuple(c for c in ROBOTS if c in base)
    if role == "unresolved":
        return (INBOX,)
    chosen = set(rule_channels or policy.channels_of_role(role))
    if prefs is not None and category not in ESSENTIAL_CATEGORIES:
        for channel in CHANNELS:
            choice = prefs.choice(category, channel)
            if choice is True:
                chosen.add(channel)
            elif choice is False:
                chosen.discard(channel)
    chosen.add(INBOX)
    return tuple(c for c in CHANNELS if c in chosen)


def check_preferences(change, current, categories):
    """Refuse an invalid change of preferences with a ``ValidationError`` naming each bad field.

    ``change`` holds the fields the caller sets; ``current`` the stored ``Preferences`` (or None).
    """
    errors = {}
    for scope, choices in (change.get("channels") or {}).items():
        if scope != ALL_CATEGORIES and scope not in categories:
            errors.setdefault("channels", []).append(f"unknown category {scope!r}; one of {sorted(categories)} or '*'")
        for channel, on in choices.items():
            if channel not in CHANNELS:
                errors.setdefault("channels", []).append(f"unknown channel {channel!r}; one of {list(CHANNELS)}")
            elif channel == INBOX and on is False:
                errors.setdefault("channels", []).append("the inbox keeps every message: it cannot be turned off")
    email = change.get("email", current.email if current else None)
    if email is not None and not _EMAIL.match(email):
        errors.setdefault("email", []).append("not an e-mail address")
    channels = change.get("channels", current.channels if current else {})
    wants_email = any(choices.get("email") for choices in channels.values())
    if wants_email and not email:
        errors.setdefault("email", []).append("e-mail is switched on: give the address to send to")
    if errors:
        raise ValidationError("invalid preferences", errors)


def view(recipient, prefs, policy):
    """A recipient's preferences as they see them: their choices beside the defaults they change,
    the channels each category reaches them on, their quiet hours (or the trading hours')."""
    role = "merchant" if recipients.kind_of(recipient) == recipients.MERCHANT else "staff"
    quiet = prefs.quiet_hours if prefs is not None else None
    hours = quiet or policy.quiet_hours
    return {
        "recipient": recipient,
        "default_channels": list(policy.channels_of_role(role)),
        "channels": prefs.channels if prefs is not None else {},
        "effective_channels": {
            category: list(channels_for(policy, role, category, None, prefs)) for category in policy.categories
        },
        "quiet_hours": {"start": hours.start, "end": hours.end, "from_trading_hours": quiet is None},
        "digest": prefs.digest if prefs is not None else False,
        "digest_at": policy.digest_at,
        "email": prefs.email if prefs is not None else None,
    }
