"""Fan-out: from an event (or a ``send``) to one notification per matching rule, and from each
notification to its deliveries — every recipient, every channel — written in bulk with COPY.

An event handler runs ``notify`` in its own transaction, in which the platform has already claimed
the event id: a redelivered event has no second fan-out. The rendering happens once per
notification and language, not per recipient; each page of contacts the registry returns is
planned in plain Python (``planning.py``) and written with one COPY, so 2,200 recipients cost a
few registry pages and two COPY batches, not 2,200 events or statements.

The registry may be down or slow. Then the notification is kept with the steps of its audience and
how far they got (``progress``), and ``resume`` carries on later with backoff, from where it
stopped: the event is not retried and dead-lettered for an outage of a service it only reads from.
"""

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import eventlet
import structlog
from psycopg.types.json import Jsonb

from alliance_platform.errors import AllianceError, Conflict, ServiceTimeout, ServiceUnavailable, ValidationError

from . import planning
from .preferences import Preferences
from .templates import RenderError

log = structlog.get_logger("alliance.notifications")

# Binary COPY with the types given: the text format dumps dates and UUIDs in Python, six times
# slower for a fan-out's rows.
COPY_DELIVERIES = (
    "COPY deliveries (notification_id, event_id, recipient, channel, address, mention, language, urgent, status,"
    " in_digest, due_at, sent_at, created_at) FROM STDIN (FORMAT BINARY)"
)
COPY_TYPES = (
    "int8",
    "uuid",
    "text",
    "text",
    "text",
    "text",
    "text",
    "bool",
    "text",
    "bool",
    "timestamptz",
    "timestamptz",
    "timestamptz",
)
# Ids derived from ``send`` idempotency keys: the same key of the same caller is the same "event".
SEND_NAMESPACE = uuid.UUID("9a3e8c3c-54d1-4bde-9a44-6f8d2d7a9c11")
RESUME_BATCH = 20


@dataclass
class Fanout:
    """What a fan-out needs: the worker's transaction, the settings, the registry and the time."""

    session: object
    settings: object
    registry: object  # registry(query, cursor) -> {"contacts", "next_cursor", "unknown_ids"}
    now: datetime
    registry_failed: str | None = field(default=None)  # once the registry failed, later steps wait too


# --- events -----------------------------------------------------------------------------------------


def notify(fanout, event):
    """Every rule that fires for ``event`` becomes a notification, delivered to its audience."""
    settings = fanout.settings
    rules = settings.rules.match(event.source, event.event_type, event.payload)
    outcome = Counter()
    for rule in rules:
        notification = _record(
            fanout,
            event_id=event.event_id,
            source=f"{event.source}.{event.event_type}",
            rule=rule.name,
            category=rule.category,
            urgency=rule.urgency,
            channels=rule.channels,
            content=settings.templates.render(rule.template, event.payload),
            audience=rule.to.steps(event.payload, settings.policy),
        )
        if notification is not None:
            outcome[expand(fanout, notification)] += 1
    return dict(outcome)


def _record(fanout, *, event_id, source, rule, category, urgency, channels, content, audience, request_hash=None):
    """The notification row, or None if this (event, rule) was recorded before."""
    return fanout.session.fetchone(
        "INSERT INTO notifications (event_id, source, rule, category, urgency, channels, content, audience, status,"
        " request_hash, created_at) VALUES (%(event_id)s, %(source)s, %(rule)s, %(category)s, %(urgency)s,"
        " %(channels)s, %(content)s, %(audience)s, 'resolving', %(request_hash)s, %(now)s)"
        " ON CONFLICT (event_id, rule) DO NOTHING RETURNING *",
        {
            "event_id": event_id,
            "source": source,
            "rule": rule,
            "category": category,
            "urgency": urgency,
            "channels": list(channels) if channels else None,
            "content": Jsonb(content),
            "audience": Jsonb(audience),
            "request_hash": request_hash,
            "now": fanout.now,
        },
    )


def expand(fanout, notification):
    """Resolve the notification's audience page by page and write the deliveries; returns the
    notification's status afterwards ('resolved', or 'resolving' / 'failed' with the reason kept)."""
    start = position = (notification["progress"]["step"], notification["progress"]["cursor"])
    reached = unresolved = 0
    written = _Written(fanout.session, notification["event_id"])
    try:
        for contacts, position in _pages(fanout, notification["audience"], *start):  # noqa: B007 - kept as the progress
            reached += write(fanout, notification, contacts, written)
            unresolved += sum(1 for c in contacts if c.role == "unresolved")
    except (ServiceUnavailable, ServiceTimeout) as exc:
        fanout.registry_failed = str(exc)
        attempts = notification["attempts"] + 1
        retry_at = fanout.now + fanout.settings.resolve_backoff.delay(attempts)
        log.warning(
            "registry unavailable: audience to be resolved later", notification=notification["id"], error=str(exc)
        )
        return _progress(fanout, notification, "resolving", position, reached, unresolved, attempts, retry_at, str(exc))
    except AllianceError as exc:
        # The registry refused the query itself (an unknown branch, say): asking again cannot help.
        log.error("audience cannot be resolved", notification=notification["id"], error=str(exc))
        return _progress(fanout, notification, "failed", position, reached, unresolved, None, None, str(exc))
    return _progress(fanout, notification, "resolved", position, reached, unresolved, None, None, None)


def _pages(fanout, steps, step, cursor):
    """The audience's contacts a page at a time, from ``step``/``cursor`` on: yields (contacts, the
    position after them). The registry's next page is asked for as soon as a page arrives, so it
    travels while the caller writes this one (both waits are green)."""
    ahead = None
    try:
        while step < len(steps):
            contacts, next_cursor = ahead.wait() if ahead is not None else _contacts(fanout, steps[step], cursor)
            ahead = None
            following = (step, next_cursor) if next_cursor is not None else (step + 1, None)
            if following[0] < len(steps) and "registry" in steps[following[0]]:
                ahead = eventlet.spawn(_contacts, fanout, steps[following[0]], following[1])
            yield contacts, following
            step, cursor = following
    finally:
        if ahead is not None:
            ahead.kill()


def _progress(fanout, notification, status, position, reached, unresolved, attempts, retry_at, error):
    step, cursor = position
    fanout.session.execute(
        "UPDATE notifications SET status = %(status)s, progress = %(progress)s, recipients = recipients + %(reached)s,"
        " unresolved = unresolved + %(unresolved)s, attempts = coalesce(%(attempts)s, attempts),"
        " retry_at = %(retry_at)s, last_error = %(error)s,"
        " resolved_at = CASE WHEN %(status)s = 'resolved' THEN %(now)s END WHERE id = %(id)s",
        {
            "status": status,
            "progress": Jsonb({"step": step, "cursor": cursor}),
            "reached": reached,
            "unresolved": unresolved,
            "attempts": attempts,
            "retry_at": retry_at,
            "error": error,
            "now": fanout.now,
            "id": notification["id"],
        },
    )
    return status


def _contacts(fanout, step, cursor):
    """One page of the step's contacts and the cursor to the next page (None: the step is done)."""
    if "group" in step:
        return [planning.group(step["group"])], None
    if "unresolved" in step:
        return [planning.unresolved(recipient) for recipient in step["unresolved"]], None
    if fanout.registry_failed is not None:
        raise ServiceUnavailable(fanout.registry_failed)
    query = step["registry"]
    page = fanout.registry(query, cursor)
    contacts = [planning.from_registry(contact) for contact in page["contacts"]]
    if step.get("districts"):
        wanted = set(step["districts"])
        contacts = [c for c in contacts if c.district in wanted]
    kind = "merchant" if "merchant_ids" in query else "person"
    # Ids the registry does not know are still someone's inbox.
    contacts += [planning.unresolved(f"{kind}:{unknown}") for unknown in page.get("unknown_ids") or ()]
    return contacts, page["next_cursor"]


class _Written:
    """The recipients of an event that have their deliveries already: exactly one delivery per
    (event, recipient, channel), also when two rules or two steps of an audience name the same
    person. Asking the database page by page is needed only if the event had deliveries before
    this expansion began (another rule's, or this notification's before a registry outage);
    otherwise the recipients written since are all there is, and they are remembered here."""

    def __init__(self, session, event_id):
        self.session, self.event_id = session, event_id
        self.earlier = session.fetchone("SELECT 1 FROM deliveries WHERE event_id = %s LIMIT 1", (event_id,)) is not None
        self.since = set()

    def before(self, recipients):
        """Those of ``recipients`` with deliveries from before this expansion began."""
        if not self.earlier:
            return set()
        rows = self.session.fetchall(
            "SELECT DISTINCT recipient FROM deliveries WHERE event_id = %s"
            " AND recipient = ANY(string_to_array(%s, E'\\n'))",
            (self.event_id, "\n".join(recipients)),
        )
        return {row["recipient"] for row in rows}


def write(fanout, notification, contacts, written=None):
    """Plan and COPY the deliveries of ``contacts``; returns how many recipients got deliveries."""
    if not contacts:
        return 0
    session, settings, now = fanout.session, fanout.settings, fanout.now
    written = written or _Written(session, notification["event_id"])
    recipients = list(dict.fromkeys(c.recipient for c in contacts))
    before = written.before(recipients)
    # Recipient lists travel as one string: psycopg dumps a Python list of 1,000 strings slowly.
    prefs = {
        row["recipient"]: Preferences.from_row(row)
        for row in session.fetchall(
            "SELECT * FROM preferences WHERE recipient = ANY(string_to_array(%s, E'\\n'))", ("\n".join(recipients),)
        )
    }
    intent = planning.Intent(
        notification["category"], notification["urgency"], tuple(notification["channels"] or ()) or None
    )
    planner = planning.Planner(intent, settings.policy, settings.robot_group, now)
    head = (notification["id"], notification["event_id"])
    rows, reached = [], 0
    for contact in contacts:
        if contact.recipient in written.since or contact.recipient in before:
            continue
        written.since.add(contact.recipient)
        rows.extend(
            (*head, contact.recipient, *delivery, now)
            for delivery in planner.deliveries(contact, prefs.get(contact.recipient))
        )
        reached += 1
    if rows:
        with session.connection.cursor() as cursor, cursor.copy(COPY_DELIVERIES) as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)
    return reached


def resume(fanout):
    """Carry on with the notifications the registry could not serve before (a timer)."""
    pending = fanout.session.fetchall(
        "SELECT * FROM notifications WHERE status = 'resolving' AND retry_at <= %s"
        " ORDER BY retry_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (fanout.now, RESUME_BATCH),
    )
    return dict(Counter(expand(fanout, notification) for notification in pending))


# --- direct sends ---------------------------------------------------------------------------------


def send(fanout, caller, cmd):
    """A message from another internal system to named people and merchants, once per idempotency key.

    Recipients are checked with the registry first: an unknown one is a ``ValidationError`` and
    nothing is written; a registry that does not answer is the caller's error to retry with the
    same key.
    """
    session, settings = fanout.session, fanout.settings
    event_id = uuid.uuid5(SEND_NAMESPACE, f"{caller.subject}:{cmd['idempotency_key']}")
    request = {k: v for k, v in cmd.items() if k != "idempotency_key"}
    digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    existing = session.fetchone("SELECT * FROM notifications WHERE event_id = %s AND rule = 'send'", (event_id,))
    if existing is not None:
        if existing["request_hash"] != digest:
            raise Conflict(f"idempotency key {cmd['idempotency_key']!r} was already used for another message")
        return summary(session, existing)
    if cmd["category"] not in settings.policy.categories:
        raise ValidationError("unknown category", {"category": [f"one of {list(settings.policy.categories)}"]})
    content = _send_content(settings, cmd)
    contacts = _send_contacts(fanout, cmd)
    notification = _record(
        fanout,
        event_id=event_id,
        source="send",
        rule="send",
        category=cmd["category"],
        urgency=cmd["urgency"],
        channels=cmd["channels"],
        content=content,
        audience=[],
        request_hash=digest,
    )
    reached = write(fanout, notification, contacts)
    _progress(fanout, notification, "resolved", (0, None), reached, 0, None, None, None)
    return summary(session, {**notification, "status": "resolved", "recipients": reached})


def _send_content(settings, cmd):
    templates = settings.templates
    if cmd["template"] is not None:
        if cmd["template"] not in templates or templates.events_of(cmd["template"]):
            raise ValidationError("unknown template", {"template": [f"no template {cmd['template']!r} for send"]})
        try:
            return templates.render(cmd["template"], cmd["variables"])
        except RenderError as exc:
            raise ValidationError("the template cannot be rendered", {"variables": [str(exc)]}) from exc
    return templates.literal(cmd["title"], cmd["body"])


def _send_contacts(fanout, cmd):
    contacts, unknown = [], {}
    for kind in ("merchant", "person"):
        ids = sorted({str(i) for i in cmd[f"{kind}_ids"]})
        if not ids:
            continue
        page = fanout.registry({f"{kind}_ids": ids}, None)
        contacts += [planning.from_registry(contact) for contact in page["contacts"]]
        if page["unknown_ids"]:
            unknown[f"{kind}_ids"] = [f"not in the register: {', '.join(page['unknown_ids'])}"]
    if unknown:
        raise ValidationError("unknown recipients", unknown)
    return contacts


def summary(session, notification):
    by_channel = session.fetchall(
        "SELECT channel, count(*) AS n FROM deliveries WHERE event_id = %s GROUP BY channel ORDER BY channel",
        (notification["event_id"],),
    )
    return {
        "notification_id": notification["id"],
        "event_id": str(notification["event_id"]),
        "status": notification["status"],
        "recipients": notification["recipients"],
        "deliveries": {row["channel"]: row["n"] for row in by_channel},
    }
