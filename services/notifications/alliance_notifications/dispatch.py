"""The sender: one timer per channel claims the deliveries that are due, sends them concurrently,
each within its own timeout, and records every answer.

- Rate limit: the channel's token bucket lives in ``rate_buckets``; the tick locks its row (``SKIP
  LOCKED``), so instances of the service take turns per channel and the limit holds for all of them.
- Claiming: ``FOR UPDATE SKIP LOCKED`` on due rows, urgent first; nothing is claimed twice.
- Isolation: a provider that hangs costs its own channel at most ``SEND_TIMEOUT`` per tick; the
  other channels have their own timers, and the other messages of the tick are sent meanwhile
  (a green pool; database waits are green too).
- Outcome: sent; failed and due again after exponential backoff; or dead after the last attempt
  or a refusal (visible to operators, ``retry_delivery`` sends it again). Every attempt is kept
  with the provider's answer. ``notification_delivered`` / ``notification_failed`` announce the
  final outcome through the outbox, in the same transaction.

A crash between a provider's "accepted" and the commit sends that message again on the next tick
(at least once to the provider); the SMS gateway gets the delivery id as its reference to dedupe.
"""

import eventlet
import structlog
from eventlet.greenpool import GreenPool

from .channels import Answer, Message

log = structlog.get_logger("alliance.notifications")

_CLAIM = (
    "SELECT d.id, d.notification_id, d.event_id, d.recipient, d.channel, d.address, d.mention, d.attempts,"
    " n.source, n.rule, n.content -> d.language AS text"
    " FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
    " WHERE d.channel = %(channel)s AND d.status IN ('pending', 'failed') AND NOT d.in_digest AND d.due_at <= %(now)s"
    " ORDER BY d.urgent DESC, d.due_at, d.id LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED"
)


def dispatch(session, settings, clock, channel):
    """One tick of ``channel``'s sender; returns {"sent": n, "failed": n, "dead": n}."""
    provider = settings.providers.get(channel)
    if provider is None:
        return {}
    now = clock.now()
    limit = _take_budget(session, settings, channel, now)
    if limit <= 0:
        return {}
    rows = session.fetchall(_CLAIM, {"channel": channel, "now": now, "limit": limit})
    _return_unused(session, settings, channel, limit - len(rows))
    if not rows:
        return {}
    pool = GreenPool(settings.send_concurrency)
    answers = list(pool.imap(lambda row: _attempt(provider, _message(row), settings.send_timeout), rows))
    return record(session, settings, rows, answers, clock.now())


def _take_budget(session, settings, channel, now):
    bucket = settings.buckets.get(channel)
    if bucket is None:
        return settings.dispatch_batch
    row = session.fetchone(
        "SELECT tokens, refilled_at FROM rate_buckets WHERE channel = %s FOR UPDATE SKIP LOCKED", (channel,)
    )
    if row is None:
        return 0  # another instance is sending on this channel right now
    limit, available = bucket.budget(row["tokens"], row["refilled_at"], now, settings.dispatch_batch)
    session.execute(
        "UPDATE rate_buckets SET tokens = %s, refilled_at = %s WHERE channel = %s", (available - limit, now, channel)
    )
    return limit


def _return_unused(session, settings, channel, unused):
    if unused > 0 and channel in settings.buckets:
        session.execute("UPDATE rate_buckets SET tokens = tokens + %s WHERE channel = %s", (unused, channel))


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


def record(session, settings, rows, answers, now):
    """Store each answer; announce deliveries that reached their end (and those of digests)."""
    updates, attempts, finished, counts = [], [], [], {"sent": 0, "failed": 0, "dead": 0}
    for row, answer in zip(rows, answers, strict=True):
        tries = row["attempts"] + 1
        if answer.ok:
            status, due_at = "sent", now
        else:
            status, due_at = settings.backoff.after_failure(tries, now, answer.permanent)
        counts[status] += 1
        updates.append(
            (
                status,
                tries,
                due_at,
                answer.detail,
                None if answer.ok else answer.detail,
                now if answer.ok else None,
                row["id"],
            )
        )
        attempts.append((row["id"], tries, now, status, answer.detail))
        if status != "failed":
            finished.append({**row, "status": status, "attempts": tries, "error": answer.detail, "via_digest": None})
    # One statement each for the whole tick, from arrays: no round trip per delivery.
    session.execute(
        "UPDATE deliveries d SET status = u.status, attempts = u.attempts, due_at = u.due_at,"
        " provider_answer = u.answer, last_error = coalesce(u.error, d.last_error), sent_at = u.sent_at"
        " FROM unnest(%s::text[], %s::int[], %s::timestamptz[], %s::text[], %s::text[], %s::timestamptz[],"
        " %s::bigint[]) AS u(status, attempts, due_at, answer, error, sent_at, id) WHERE d.id = u.id",
        [list(column) for column in zip(*updates, strict=True)],
    )
    session.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, answer)"
        " SELECT * FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[], %s::text[], %s::text[])",
        [list(column) for column in zip(*attempts, strict=True)],
    )
    for row in [r for r in finished if r["source"] == "digest"]:
        finished += _settle_digest(session, row, now)
    for row in finished:
        _announce(session, row, now)
    return counts


def _settle_digest(session, digest, now):
    """The messages a digest carried end as the digest ended."""
    covered = session.fetchall(
        "UPDATE deliveries d SET status = %(status)s, attempts = %(attempts)s, sent_at = %(sent_at)s,"
        " provider_answer = %(answer)s FROM notifications n"
        " WHERE n.id = d.notification_id AND d.digest_id = %(digest)s AND d.status = 'batched'"
        " RETURNING d.id, d.notification_id, d.event_id, d.recipient, d.channel, d.attempts, n.source, n.rule",
        {
            "status": digest["status"],
            "attempts": digest["attempts"],  # they travelled in the digest's attempts
            "sent_at": now if digest["status"] == "sent" else None,
            "answer": f"in digest {digest['id']}",
            "digest": digest["id"],
        },
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
    if row["status"] == "sent":
        session.publish("notification_delivered", {**payload, "sent_at": now}, aggregate_id=row["id"])
    else:
        session.publish(
            "notification_failed", {**payload, "error": row["error"], "failed_at": now}, aggregate_id=row["id"]
        )
