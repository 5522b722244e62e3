"""The operators' side: where deliveries stand, what failed and why, sending a dead one again,
and the figures of the service. Mobiles are shown masked."""

import uuid
from datetime import timedelta

from alliance_platform.errors import Conflict, NotFound
from alliance_platform.logs import mask_text
from alliance_platform.paging import decode_cursor, page

from .fanout import SEND_NAMESPACE
from .inbox import json_ready

_DELIVERY = (
    "SELECT d.id, d.notification_id, d.event_id, n.source, n.rule, d.recipient, d.channel, d.address, d.status,"
    " d.attempts, d.in_digest, d.digest_id, d.due_at, d.sent_at, d.provider_answer, d.last_error, d.created_at"
    " FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
)


def _shown(row):
    return json_ready(
        {
            **row,
            "event_id": str(row["event_id"]),
            "address": mask_text(row["address"]) if row["address"] else None,
            "provider_answer": mask_text(row["provider_answer"]) if row["provider_answer"] else None,
            "last_error": mask_text(row["last_error"]) if row["last_error"] else None,
        }
    )


def list_deliveries(session, cmd):
    where, params = [], {"limit": cmd["limit"] + 1}
    for name in ("status", "channel", "recipient", "event_id"):
        if cmd.get(name) is not None:
            where.append(f"d.{name} = %({name})s")
            params[name] = cmd[name]
    after = decode_cursor(cmd["cursor"], 1)
    if after:
        where.append("d.id < %(after)s")
        params["after"] = after[0]
    rows = session.fetchall(
        _DELIVERY + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY d.id DESC LIMIT %(limit)s",
        params,
    )
    result = page(rows, cmd["limit"], key=lambda row: (row["id"],))
    result["items"] = [_shown(row) for row in result["items"]]
    return result


def delivery_status(session, caller, cmd):
    """One delivery with every attempt, or where the deliveries of an event (or of a ``send``,
    by the caller's idempotency key) stand."""
    if cmd["delivery_id"] is not None:
        row = session.fetchone(_DELIVERY + " WHERE d.id = %s", (cmd["delivery_id"],))
        if row is None:
            raise NotFound(f"no delivery {cmd['delivery_id']}")
        attempts = session.fetchall(
            "SELECT attempt, at, outcome, answer FROM delivery_attempts WHERE delivery_id = %s ORDER BY id",
            (row["id"],),
        )
        return {**_shown(row), "attempts_made": [_shown_attempt(a) for a in attempts]}
    event_id = cmd["event_id"]
    if event_id is None:
        event_id = uuid.uuid5(SEND_NAMESPACE, f"{caller.subject}:{cmd['idempotency_key']}")
    notifications = session.fetchall(
        "SELECT id, source, rule, status, recipients, unresolved, attempts, last_error, created_at, resolved_at"
        " FROM notifications WHERE event_id = %s ORDER BY id",
        (event_id,),
    )
    if not notifications:
        raise NotFound(f"no notification for event {event_id}")
    counts = session.fetchall(
        "SELECT channel, status, count(*) AS n FROM deliveries WHERE event_id = %s GROUP BY 1, 2", (event_id,)
    )
    deliveries = {}
    for row in counts:
        deliveries.setdefault(row["channel"], {})[row["status"]] = row["n"]
    return json_ready({"event_id": str(event_id), "notifications": notifications, "deliveries": deliveries})


def _shown_attempt(row):
    return json_ready({**row, "answer": mask_text(row["answer"]) if row["answer"] else None})


def retry_delivery(session, delivery_id, now):
    """Send a failed or dead delivery again now, with a fresh set of attempts. A dead digest takes
    its messages back; a message that died inside a digest goes again on its own."""
    row = session.fetchone("SELECT * FROM deliveries WHERE id = %s FOR UPDATE", (delivery_id,))
    if row is None:
        raise NotFound(f"no delivery {delivery_id}")
    if row["channel"] == "inbox":
        raise Conflict("inbox messages are stored, not sent: there is nothing to retry")
    if row["status"] not in ("failed", "dead"):
        raise Conflict(f"delivery {delivery_id} is {row['status']}: only failed or dead deliveries are retried")
    session.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, due_at = %s, in_digest = false, digest_id = NULL"
        " WHERE id = %s",
        (now, delivery_id),
    )
    session.execute(
        "UPDATE deliveries SET status = 'batched', sent_at = NULL WHERE digest_id = %s AND status = 'dead'",
        (delivery_id,),
    )
    return _shown(session.fetchone(_DELIVERY + " WHERE d.id = %s", (delivery_id,)))


def stats(session, cmd, now, configured):
    """Deliveries by channel and status and unread inbox messages over a period (default: the
    last 24 hours); what waits to be sent now, dead deliveries and unresolved audiences overall."""
    until = cmd["until"] or now
    since = cmd["since"] or until - timedelta(days=1)
    by_status = session.fetchall(
        "SELECT channel, status, count(*) AS n FROM deliveries WHERE created_at >= %s AND created_at < %s"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        (since, until),
    )
    backlog = session.fetchall(
        "SELECT channel, count(*) FILTER (WHERE due_at <= %(now)s) AS due, count(*) AS waiting,"
        " min(due_at) FILTER (WHERE due_at <= %(now)s) AS oldest_due_at"
        " FROM deliveries WHERE status IN ('pending', 'failed') AND NOT in_digest GROUP BY channel ORDER BY channel",
        {"now": now},
    )
    notifications = session.fetchall(
        "SELECT status, count(*) AS n FROM notifications WHERE status <> 'resolved' GROUP BY status"
    )
    deliveries = {}
    for row in by_status:
        deliveries.setdefault(row["channel"], {})[row["status"]] = row["n"]
    return json_ready(
        {
            "since": since,
            "until": until,
            "deliveries": deliveries,
            "backlog": {
                row["channel"]: {
                    "due": row["due"],
                    "waiting": row["waiting"],
                    "oldest_due_seconds": round((now - row["oldest_due_at"]).total_seconds(), 1)
                    if row["oldest_due_at"]
                    else 0.0,
                }
                for row in backlog
            },
            "dead": session.fetchval("SELECT count(*) FROM deliveries WHERE status = 'dead'"),
            "digests_waiting": session.fetchval(
                "SELECT count(*) FROM deliveries WHERE status = 'pending' AND in_digest"
            ),
            "notifications_unresolved": {row["status"]: row["n"] for row in notifications},
            "inbox_unread": session.fetchval(
                "SELECT count(*) FROM deliveries WHERE channel = 'inbox' AND read_at IS NULL"
                " AND created_at >= %s AND created_at < %s",
                (since, until),
            ),
            "channels_configured": sorted(configured),
        }
    )
