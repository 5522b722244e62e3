"""From a notification and one recipient to that recipient's deliveries: which channels, to which
address, and when each may go (now, after the quiet hours, or with the next digest).

Plain Python, called once per recipient of a fan-out: it must stay cheap (no I/O, no rendering).
"""

from dataclasses import dataclass

from . import recipients
from .deliveries import INBOX, PENDING, SENT
from .preferences import channels_for


@dataclass(frozen=True, slots=True)
class Contact:
    """A recipient as the registry knows it, or as an event names it."""

    recipient: str  # "merchant:<id>", "person:<id>" or "group:<name>"
    role: str  # "merchant", "staff", "group" or "unresolved" (not in the registry: inbox only)
    mobile: str | None = None
    language: str | None = None
    district: str | None = None


def from_registry(contact):
    """A contact as ``registry.resolve_audience`` returns it."""
    merchant = contact["kind"] == recipients.MERCHANT
    return Contact(
        recipient=recipients.key(recipients.MERCHANT if merchant else recipients.PERSON, contact["id"]),
        role="merchant" if merchant else "staff",
        mobile=contact.get("mobile"),
        language=contact.get("language"),
        district=contact.get("district_id"),
    )


def unresolved(recipient):
    return Contact(recipient=recipient, role="unresolved")


def group(name):
    return Contact(recipient=recipients.key(recipients.GROUP, name), role="group", district=name)


@dataclass(frozen=True)
class Intent:
    """What a notification asks of each recipient's deliveries."""

    category: str
    urgency: str
    channels: tuple | None  # the rule's channels, or None for the recipient's defaults


class Planner:
    """Plans the deliveries of one notification's recipients at ``now``.

    ``robot_group(channel, wanted)`` names the configured robot group for a district or staff
    group (falling back to a default one), or None. What does not depend on the recipient (the
    channels of a role without preferences, the end of the default quiet hours) is worked out
    once, not once per recipient: a city-wide fan-out plans 100,000 of them.
    """

    def __init__(self, intent, policy, robot_group, now):
        self.intent = intent
        self.policy = policy
        self.robot_group = robot_group
        self.now = now
        self.urgent = intent.urgency == "urgent"
        self._channels = {}
        self._default_due = None

    def _channels_of(self, role, prefs):
        if prefs is not None:
            return channels_for(self.policy, role, self.intent.category, self.intent.channels, prefs)
        if role not in self._channels:
            self._channels[role] = channels_for(self.policy, role, self.intent.category, self.intent.channels)
        return self._channels[role]

    def _due(self, prefs):
        if self.urgent:
            return self.now
        if prefs is not None and prefs.quiet_hours is not None:
            return prefs.quiet_hours.release(self.now, self.policy.timezone)
        if self._default_due is None:
            self._default_due = self.policy.quiet_hours.release(self.now, self.policy.timezone)
        return self._default_due

    def deliveries(self, contact, prefs):
        """The deliveries for ``contact``: tuples of
        (channel, address, mention, language, urgent, status, in_digest, due_at, sent_at).

        A channel without an address is left out: no mobile, no SMS; no e-mail address, no
        e-mail; no robot, no group message.
        """
        now, urgent = self.now, self.urgent
        language = contact.language or self.policy.default_language
        digest = self.intent.urgency == "low" and prefs is not None and prefs.digest
        rows = []
        for channel in self._channels_of(contact.role, prefs):
            mention = None
            if channel == INBOX:
                rows.append((channel, None, None, language, urgent, SENT, False, now, now))
                continue
            if channel == "sms":
                address = contact.mobile
            elif channel == "email":
                address = prefs.email if prefs is not None else None
            else:
                address = self.robot_group(channel, contact.district)
                mention = contact.mobile if contact.role != "group" else None
            if not address:
                continue
            if digest:
                due_at, in_digest = self.policy.digest_at_after(now), True
            else:
                due_at, in_digest = self._due(prefs), False
            rows.append((channel, address, mention, language, urgent, PENDING, in_digest, due_at, None))
        return rows
