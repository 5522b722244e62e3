"""The notifications service's commands: one function each, ``command(ctx, cmd)``, in the worker's
one transaction (``ctx.session``), deciding with the verified caller (``ctx.caller``), the time
(``ctx.now``) and the service's settings (``ctx.settings``). The fan-out asks the registry through
``registry(query, cursor) -> page`` (``resolve_audience``), given by the entrypoint.

Fan-out: every rule that fires for an event becomes one notification, rendered once per language;
its audience is resolved from the registry a page at a time (the next page asked for while this
one is written), each page planned in plain Python (``domain.planning``) and written with one
COPY. The event handler's transaction has already claimed the event id: a redelivered event has no
second fan-out, and a unique key (event, recipient, channel) gives each person one delivery per
channel, also when two rules or two steps of an audience name them.

The registry may be down or slow. Then the notification keeps its steps and how far they got,
and ``expand`` carries on later (the ``resume_fanouts`` timer), with backoff, from where it
stopped: the event is not retried and dead-lettered for an outage of a service it only reads from.
"""

from collections import Counter

import eventlet
import structlog

from alliance_platform.errors import (
    AllianceError,
    Conflict,
    NotFound,
    ServiceTimeout,
    ServiceUnavailable,
    ValidationError,
)

from . import storage
from .domain import deliveries, escalation, planning, preferences, recipients, sends
from .domain.audiences import RESOLVED, RESOLVING, UNRESOLVABLE, kind_of_query
from .domain.timing import QuietHours

log = structlog.get_logger("alliance.notifications")


# --- events ---------------------------------------------------------------------------------------


def notify(ctx, event, registry):
    """Every rule that fires for ``event`` becomes a notification, delivered to its audience;
    returns {status of the notifications afterwards: how many}."""
    settings, pages = ctx.settings, Registry(registry)
    outcome = Counter()
    for rule in settings.rules.match(event.source, event.event_type, event.payload):
        notification = storage.record_notification(
            ctx.session,
            event_id=event.event_id,
            source=f"{event.source}.{event.event_type}",
            rule=rule.name,
            category=rule.category,
            urgency=rule.urgency,
            channels=rule.channels,
            content=settings.templates.render(rule.template, event.payload),
            audience=rule.to.steps(event.payload, settings.policy),
            now=ctx.now,
        )
        if notification is not None:
            outcome[expand(ctx, notification, pages)] += 1
    return dict(outcome)


class Registry:
    """The registry as one fan-out call asks it: once it failed, every later registry step of the
    call waits as well (the next resumption asks again)."""

    def __init__(self, resolve):
        self.resolve = resolve
        self.failed = None

    def page(self, query, cursor):
        if self.failed is not None:
            raise ServiceUnavailable(self.failed)
        return self.resolve(query, cursor)


def expand(ctx, notification, registry):
    """Resolve the notification's audience from where it stands, page by page, writing the
    deliveries; returns its status afterwards (resolved, or resolving / failed with the reason)."""
    start = position = (notification["progress"]["step"], notification["progress"]["cursor"])
    reached = unresolved = 0
    written = _Written(ctx.session, notification["event_id"])

    def progress(status, attempts=None, retry_at=None, error=None):
        storage.record_progress(
            ctx.session, notification["id"], status=status, step=position[0], cursor=position[1], reached=reached,
            unresolved=unresolved, attempts=attempts, retry_at=retry_at, error=error, now=ctx.now,
        )  # fmt: skip
        return status

    try:
        for contacts, position in _pages(registry, notification["audience"], *start):  # noqa: B007 - the progress
            reached += _write(ctx, notification, contacts, written)
            unresolved += sum(1 for c in contacts if c.role == "unresolved")
    except (ServiceUnavailable, ServiceTimeout) as exc:
        registry.failed = str(exc)
        attempts = notification["attempts"] + 1
        log.warning(
            "registry unavailable: audience to be resolved later", notification=notification["id"], error=str(exc)
        )
        return progress(RESOLVING, attempts, ctx.now + ctx.settings.resolve_backoff.delay(attempts), str(exc))
    except AllianceError as exc:
        # The registry refused the query itself (an unknown branch, say): asking again cannot help.
        log.error("audience cannot be resolved", notification=notification["id"], error=str(exc))
        return progress(UNRESOLVABLE, error=str(exc))
    return progress(RESOLVED)


def _pages(registry, steps, step, cursor):
    """The audience's contacts a page at a time, from ``step``/``cursor`` on: yields (contacts, the
    position after them). The registry's next page is asked for as soon as a page arrives, so it
    travels while the caller writes this one (both waits are green)."""
    ahead = None
    try:
        while step < len(steps):
            contacts, next_cursor = ahead.wait() if ahead is not None else _contacts(registry, steps[step], cursor)
            ahead = None
            following = (step, next_cursor) if next_cursor is not None else (step + 1, None)
            if following[0] < len(steps) and "registry" in steps[following[0]]:
                ahead = eventlet.spawn(_contacts, registry, steps[following[0]], following[1])
            yield contacts, following
            step, cursor = following
    finally:
        if ahead is not None:
            ahead.kill()


def _contacts(registry, step, cursor):
    """One page of the step's contacts and the cursor to the next page (None: the step is done)."""
    if "group" in step:
        return [planning.group(step["group"])], None
    if "unresolved" in step:
        return [planning.unresolved(recipient) for recipient in step["unresolved"]], None
    query = step["registry"]
    page = registry.page(query, cursor)
    contacts = [planning.from_registry(contact) for contact in page["contacts"]]
    if step.get("districts"):
        wanted = set(step["districts"])
        contacts = [c for c in contacts if c.district in wanted]
    # Ids the registry does not know are still someone's inbox.
    kind = kind_of_query(query)
    contacts += [planning.unresolved(recipients.key(kind, unknown)) for unknown in page.get("unknown_ids") or ()]
    return contacts, page["next_cursor"]


class _Written:
    """The recipients of an event that have their deliveries already. Asking the database page by
    page is needed only if the event had deliveries before this expansion began (another rule's,
    or this notification's before a registry outage); otherwise the recipients written since are
    all there is, and they are remembered here."""

    def __init__(self, session, event_id):
        self.session, self.event_id = session, event_id
        self.earlier = storage.event_has_deliveries(session, event_id)
        self.since = set()

    def before(self, recipients):
        """Those of ``recipients`` with deliveries from before this expansion began."""
        if not self.earlier:
            return set()
        return storage.recipients_with_deliveries(self.session, self.event_id, recipients)


def _write(ctx, notification, contacts, written=None):
    """Plan and COPY the deliveries of ``contacts``; returns how many recipients got deliveries."""
    if not contacts:
        return 0
    settings = ctx.settings
    written = written or _Written(ctx.session, notification["event_id"])
    wanted = list(dict.fromkeys(c.recipient for c in contacts))
    before = written.before(wanted)
    prefs = storage.preferences_of(ctx.session, wanted)
    intent = planning.Intent(
        notification["category"], notification["urgency"], tuple(notification["channels"] or ()) or None
    )
    planner = planning.Planner(intent, settings.policy, settings.robot_group, ctx.now)
    head = (notification["id"], notification["event_id"])
    rows, reached = [], 0
    rule = settings.rules.by_name.get(notification["rule"])
    chain = rule.escalate if rule is not None else ()
    steps = []
    for contact in contacts:
        if contact.recipient in written.since or contact.recipient in before:
            continue
        written.since.add(contact.recipient)
        rows.extend(
            (*head, contact.recipient, *delivery, ctx.now)
            for delivery in planner.deliveries(contact, prefs.get(contact.recipient))
        )
        if chain and contact.role != "group":
            steps += _chain(settings, rule, contact, prefs.get(contact.recipient), ctx.now)
        reached += 1
    if rows:
        storage.copy_deliveries(ctx.session, rows)
        storage.schedule_escalations(ctx.session, notification["id"], steps, ctx.now)
    return reached


def _chain(settings, rule, contact, prefs, now):
    """The escalation steps of ``contact``'s inbox message written ``now`` (``domain.escalation``)."""
    policy = settings.policy
    quiet = prefs.quiet_hours if prefs is not None and prefs.quiet_hours is not None else policy.quiet_hours
    urgent = rule.escalates_in_quiet_hours
    return [
        (
            contact.recipient,
            k,
            step.channel,
            step.after_working_minutes,
            escalation.due_at(now, step, settings.calendar, quiet, policy.timezone, urgent),
            contact.role,
            contact.mobile,
            contact.district,
        )  # fmt: skip
        for k, step in enumerate(rule.escalate, 1)
    ]


# --- direct sends ---------------------------------------------------------------------------------


def send(ctx, cmd, registry):
    """A message from another internal system to named people and merchants, once per idempotency
    key (``domain.sends``); returns where its deliveries stand.

    Recipients are checked with the registry first: an unknown one is a ``ValidationError`` and
    nothing is written; a registry that does not answer is the caller's error to retry with the
    same key.
    """
    session, settings = ctx.session, ctx.settings
    event_id = sends.event_id(ctx.caller, cmd["idempotency_key"])
    fingerprint = sends.fingerprint(cmd)
    existing = storage.notification_of(session, event_id, sends.RULE)
    if existing is not None:
        if existing["request_hash"] != fingerprint:
            raise Conflict(f"idempotency key {cmd['idempotency_key']!r} was already used for another message")
        return summary(session, existing)
    sends.check_category(settings.policy, cmd["category"])
    content = sends.content(settings.templates, cmd)
    contacts = _send_contacts(registry, cmd)
    notification = storage.record_notification(
        session,
        event_id=event_id,
        source=sends.SOURCE,
        rule=sends.RULE,
        category=cmd["category"],
        urgency=cmd["urgency"],
        channels=cmd["channels"],
        content=content,
        audience=[],
        request_hash=fingerprint,
        now=ctx.now,
    )
    reached = _write(ctx, notification, contacts)
    storage.record_progress(
        session, notification["id"], status=RESOLVED, step=0, cursor=None, reached=reached, unresolved=0,
        attempts=None, retry_at=None, error=None, now=ctx.now,
    )  # fmt: skip
    return summary(session, {**notification, "status": RESOLVED, "recipients": reached})


def _send_contacts(registry, cmd):
    contacts, unknown = [], {}
    for kind in (recipients.MERCHANT, recipients.PERSON):
        ids = sorted({str(i) for i in cmd[f"{kind}_ids"]})
        if not ids:
            continue
        page = registry({f"{kind}_ids": ids}, None)
        contacts += [planning.from_registry(contact) for contact in page["contacts"]]
        if page["unknown_ids"]:
            unknown[f"{kind}_ids"] = [f"not in the register: {', '.join(page['unknown_ids'])}"]
    if unknown:
        raise ValidationError("unknown recipients", unknown)
    return contacts


def summary(session, notification):
    """Where a notification's deliveries stand: what ``send`` answers."""
    return {
        "notification_id": notification["id"],
        "event_id": notification["event_id"],
        "status": notification["status"],
        "recipients": notification["recipients"],
        "deliveries": storage.counts_by_channel(session, notification["event_id"]),
    }


# --- a person's own inbox and preferences --------------------------------------------------------


def mark_read(ctx, cmd):
    """Mark the given messages (or all) read; a message that is not the caller's is ``NotFound``
    and nothing changes. Returns how many were marked and how many stay unread."""
    mine = recipients.own(ctx.caller)
    if cmd["all"]:
        marked = storage.mark_all_read(ctx.session, mine, ctx.now)
    else:
        ids = sorted(set(cmd["ids"]))
        found = storage.inbox_ids(ctx.session, ids, mine)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no messages {missing} in your inbox")
        marked = storage.mark_read(ctx.session, ids, ctx.now)
    if marked:
        storage.stop_escalations(ctx.session, mine, ctx.now)  # what is read escalates no further
    return {"marked": marked, "unread": storage.count_unread(ctx.session, mine)}


def set_preferences(ctx, cmd):
    """Change the fields given (``quiet_hours: null`` returns to trading hours); an invalid
    preference is a ``ValidationError`` and changes nothing. Returns the preferences as
    ``get_preferences`` shows them."""
    policy = ctx.settings.policy
    change = {k: v for k, v in cmd.items() if k != "recipient"}
    recipient = recipients.chosen(ctx.caller, cmd.get("recipient"))[0]
    current = storage.preferences(ctx.session, recipient)
    preferences.check_preferences(change, current, policy.categories)
    base = current or preferences.Preferences(recipient)
    quiet = base.quiet_hours
    if "quiet_hours" in change:
        hours = change["quiet_hours"]
        quiet = QuietHours(hours["start"], hours["end"]) if hours else None
    storage.save_preferences(
        ctx.session,
        recipient,
        channels=change.get("channels", base.channels),
        quiet_start=quiet.start if quiet else None,
        quiet_end=quiet.end if quiet else None,
        digest=change.get("digest", base.digest),
        email=change.get("email", base.email),
        now=ctx.now,
    )
    return preferences.view(recipient, storage.preferences(ctx.session, recipient), policy)


# --- operators --------------------------------------------------------------------------------------


def retry_delivery(ctx, cmd):
    """Send a failed or dead delivery again now, with a fresh set of attempts (``Conflict`` for any
    other, ``NotFound`` for none). A dead digest takes its messages back; a message that died
    inside a digest goes again on its own. Returns the delivery as operators see it."""
    delivery_id = cmd["delivery_id"]
    delivery = storage.lock_delivery(ctx.session, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    deliveries.check_retry(delivery)
    storage.due_again(ctx.session, delivery_id, ctx.now)
    return storage.delivery(ctx.session, delivery_id)
