"""The notifications service's timer jobs, each in its own transaction: one sender per channel,
the daily digests, the audiences the registry could not serve before, and the escalation of
unread messages (``escalate``).

The sender (``send``), one tick of one channel:

- Rate limit: the channel's token bucket lives in ``rate_buckets``; the tick locks its row (``SKIP
  LOCKED``), so instances of the service take turns per channel and the limit holds for all of them.
- Claiming: ``FOR UPDATE SKIP LOCKED`` on due rows, urgent first; nothing is claimed twice.
- Isolation: a provider that hangs costs its own channel at most ``SEND_TIMEOUT`` per tick; the
  other channels have their own timers, and the other messages of the tick are sent meanwhile
  (a green pool; database waits are green too).
- Outcome: each answer moves its delivery as ``domain.deliveries`` says (sent; failed and due
  again after backoff; dead), every attempt is kept with the provider's answer, and
  ``notification_delivered`` / ``notification_failed`` announce a delivery's end through the
  outbox, in the same transaction; the messages a digest carried end with it.

A crash between a provider's "accepted" and the commit sends that message again on the next tick
(at least once to the provider); the SMS gateway gets the delivery id as its reference to dedupe.
"""

import time
import uuid
from collections import Counter
from datetime import timedelta

import eventlet
import structlog
from eventlet.greenpool import GreenPool

from . import storage, use_cases
from .channels import Answer, Message
from .domain import deliveries, digests, escalation, planning
from .domain.deliveries import DEAD, FAILED, FINAL, SENT

log = structlog.get_logger("alliance.notifications")

RESUME_BATCH = 20  # notifications resumed per run


# --- sending --------------------------------------------------------------------------------------


def send(ctx, channel):
    """One tick of ``channel``'s sender; returns {"sent": n, "failed": n, "dead": n}."""
    settings = ctx.settings
    provider = settings.providers.get(channel)
    if provider is None:
        return {}
    limit = _take_budget(ctx, channel)
    if limit <= 0:
        return {}
    rows = storage.claim_due(ctx.session, channel, ctx.now, limit)
    if limit > len(rows) and channel in settings.buckets:
        storage.return_tokens(ctx.session, channel, limit - len(rows))
    if not rows:
        return {}
    started = time.monotonic()
    pool = GreenPool(settings.send_concurrency)
    answers = list(pool.imap(lambda row: _attempt(provider, _message(row), settings.send_timeout), rows))
    # The answers are recorded at the moment they came, not when the tick began.
    answered_at = ctx.now + timedelta(seconds=time.monotonic() - started)
    return _record(ctx, rows, answers, answered_at)


def _take_budget(ctx, channel):
    settings = ctx.settings
    bucket = settings.buckets.get(channel)
    if bucket is None:
        return settings.dispatch_batch
    row = storage.lock_bucket(ctx.session, channel)
    if row is None:
        return 0  # another instance is sending on this channel right now
    limit, available = bucket.budget(row["tokens"], row["refilled_at"], ctx.now, settings.dispatch_batch)
    storage.set_bucket(ctx.session, channel, available - limit, ctx.now)
    return limit


def _message(row):
    text = row["text"]
    return Message(
        delivery_id=row["id"],
        channel=row["channel"],
        address=row["address"],
        mention=row["mention"],
        title=text["title"],
        body=text["body"],
        sms=text["sms"],
        robot=text["robot"],
    )


def _attempt(provider, message, timeout):
    try:
        with eventlet.Timeout(timeout):
            return provider.send(message)
    except eventlet.Timeout:
        return Answer.retry(f"no answer within {timeout:g}s")
    except Exception as exc:
        log.exception("provider failed", channel=message.channel, delivery=message.delivery_id)
        return Answer.retry(f"provider error: {exc!r}")


def _record(ctx, rows, answers, now):
    """Store each answer; announce deliveries that reached their end (and those of digests)."""
    updates, attempts, finished, counts = [], [], [], dict.fromkeys((SENT, FAILED, DEAD), 0)
    for row, answer in zip(rows, answers, strict=True):
        tries = row["attempts"] + 1
        status, due_at = deliveries.after_answer(answer, tries, now, ctx.settings.backoff)
        counts[status] += 1
        ok = status == SENT
        updates.append(
            (status, tries, due_at, answer.detail, None if ok else answer.detail, now if ok else None, row["id"])
        )
        attempts.append((row["id"], tries, now, status, answer.detail))
        if status in FINAL:
            finished.append({**row, "status": status, "attempts": tries, "error": answer.detail, "via_digest": None})
    storage.record_answers(ctx.session, updates, attempts)
    for digest in [r for r in finished if r["source"] == digests.SOURCE]:
        finished += _end_digest(ctx.session, digest, now)
    for row in finished:
        _announce(ctx.session, row, now)
    return counts


def _end_digest(session, digest, now):
    """The messages a digest carried end as the digest ended."""
    covered = storage.end_batched(
        session,
        digest["id"],
        status=digest["status"],
        attempts=digest["attempts"],  # they travelled in the digest's attempts
        sent_at=now if digest["status"] == SENT else None,
        answer=f"in digest {digest['id']}",
    )
    return [
        {**row, "status": digest["status"], "error": digest["error"], "via_digest": digest["id"]} for row in covered
    ]


def _announce(session, row, now):
    payload = {
        "delivery_id": str(row["id"]),
        "notification_id": str(row["notification_id"]),
        "event_id": str(row["event_id"]),
        "source": row["source"],
        "rule": row["rule"],
        "recipient": row["recipient"],
        "channel": row["channel"],
        "attempts": row["attempts"],
        "via_digest": None if row["via_digest"] is None else str(row["via_digest"]),
    }
    if row["status"] == SENT:
        session.publish("notification_delivered", {**payload, "sent_at": now}, aggregate_id=row["id"])
    else:
        session.publish(
            "notification_failed", {**payload, "error": row["error"], "failed_at": now}, aggregate_id=row["id"]
        )


# --- digests ----------------------------------------------------------------------------------------


def make_digests(ctx):
    """Make the digests that are due (``domain.digests``); returns how many."""
    session, templates = ctx.session, ctx.settings.templates
    made = 0
    for (recipient, channel), messages in digests.gather(storage.claim_for_digest(session, ctx.now, digests.BATCH)):
        first = messages[0]
        event_id = uuid.uuid4()
        content = templates.render(digests.TEMPLATE, digests.variables(messages))
        notification = storage.record_digest_notification(session, event_id=event_id, content=content, now=ctx.now)
        digest = storage.record_digest_delivery(
            session,
            notification_id=notification["id"],
            event_id=event_id,
            recipient=recipient,
            channel=channel,
            address=first["address"],
            mention=first["mention"],
            language=first["language"],
            now=ctx.now,
        )
        storage.batch_into_digest(session, digest["id"], [m["id"] for m in messages])
        made += 1
    return made


# --- audiences the registry could not serve ---------------------------------------------------------


def resume_fanouts(ctx, registry):
    """Carry on with the notifications the registry could not serve before, as a fan-out does."""
    pending = storage.claim_to_resume(ctx.session, ctx.now, RESUME_BATCH)
    pages = use_cases.Registry(registry)
    return dict(Counter(use_cases.expand(ctx, notification, pages) for notification in pending))


# --- escalation of unread messages ------------------------------------------------------------------


def escalate(ctx):
    """Decide the escalation steps that are due (``domain.escalation``): a step of a message read
    meanwhile is skipped, any other becomes a delivery on its channel, which that channel's sender
    sends. Steps are claimed ``SKIP LOCKED`` and decided in this transaction: a step is decided
    once, whoever runs the timer and however often. Returns {status: how many}."""
    session, settings, now = ctx.session, ctx.settings, ctx.now
    counts = Counter()
    for row in storage.claim_escalations(session, now, escalation.BATCH):
        decision = escalation.decide(row["read_at"], row["due_at"], now)
        if decision == escalation.WAIT:
            continue
        if decision == escalation.SKIP_READ:
            status, delivery_id, detail = escalation.SKIPPED_READ, None, f"read at {row['read_at'].isoformat()}"
        else:
            status, delivery_id, detail = _escalate(session, settings, row, now)
        storage.decide_escalation(session, row["id"], status, now, sent_delivery_id=delivery_id, detail=detail)
        counts[status] += 1
    return dict(counts)


def _escalate(session, settings, row, now):
    """The step's delivery on its channel: (status, its id, detail)."""
    rule = settings.rules.by_name.get(row["rule"])
    urgency = row["urgency"] if row["urgency"] != "low" else "normal"  # an escalation never waits for a digest
    if rule is not None and rule.escalates_in_quiet_hours:
        urgency = "urgent"
    contact = planning.Contact(
        recipient=row["recipient"], role=row["role"], mobile=row["mobile"], language=row["language"],
        district=row["district"],
    )  # fmt: skip
    intent = planning.Intent(row["category"], urgency, (row["channel"],))
    prefs = storage.preferences_of(session, [row["recipient"]]).get(row["recipient"])
    planned = [
        d for d in planning.Planner(intent, settings.policy, settings.robot_group, now).deliveries(contact, prefs)
        if d[0] == row["channel"]
    ]  # fmt: skip
    if not planned:
        return escalation.SKIPPED_UNREACHABLE, None, f"no {row['channel']} address, or switched off by the recipient"
    delivery_id = storage.insert_delivery(
        session, (row["notification_id"], row["event_id"], row["recipient"], *planned[0], now)
    )
    if delivery_id is None:
        return escalation.SKIPPED_UNREACHABLE, None, f"the message went on {row['channel']} already"
    return escalation.SENT, delivery_id, f"delivery {delivery_id} on {row['channel']}"
