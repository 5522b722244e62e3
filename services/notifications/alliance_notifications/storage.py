"""The notifications service's SQL, in one place: functions taking the worker's session.

Tables (``migrations/0001_notifications.sql``): ``notifications`` (one per source event and rule,
its content rendered once per language, its audience and how far its resolution got),
``deliveries`` (one per event, recipient and channel; the inbox is one of the channels),
``delivery_attempts``, ``preferences`` and the channels' ``rate_buckets``; ``escalations``
(``0002_escalations.sql``: the steps of unread inbox messages' chains).

Lists of many values travel as one string split by the server (``string_to_array``): psycopg dumps
a Python list of 1,000 strings slowly. A tick's answers are written from arrays in one statement
each, never one round trip per delivery.
"""

from psycopg.types.json import Jsonb

from .domain import digests
from .domain.audiences import RESOLVED, RESOLVING
from .domain.deliveries import BATCHED, DEAD, DUE, INBOX, PENDING
from .domain.escalation import SCHEDULED, SKIPPED_READ
from .domain.preferences import Preferences


def _in(values):
    """A SQL list of the constants ``values``: partial indexes name them literally, so the queries
    they serve must too."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def _lines(values):
    return "\n".join(values)


# --- notifications --------------------------------------------------------------------------------


def record_notification(session, *, event_id, source, rule, category, urgency, channels, content, audience, now,
                        request_hash=None):  # fmt: skip
    """The new notification row (its audience resolving), or None if this (event, rule) was recorded before."""
    return session.fetchone(
        "INSERT INTO notifications (event_id, source, rule, category, urgency, channels, content, audience, status,"
        " request_hash, created_at) VALUES (%(event_id)s, %(source)s, %(rule)s, %(category)s, %(urgency)s,"
        f" %(channels)s, %(content)s, %(audience)s, '{RESOLVING}', %(request_hash)s, %(now)s)"
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
            "now": now,
        },
    )


def record_progress(session, notification_id, *, status, step, cursor, reached, unresolved, attempts, retry_at,
                    error, now):  # fmt: skip
    """Where the resolution of a notification's audience stands (``attempts`` None: unchanged)."""
    session.execute(
        "UPDATE notifications SET status = %(status)s, progress = %(progress)s, recipients = recipients + %(reached)s,"
        " unresolved = unresolved + %(unresolved)s, attempts = coalesce(%(attempts)s, attempts),"
        " retry_at = %(retry_at)s, last_error = %(error)s,"
        f" resolved_at = CASE WHEN %(status)s = '{RESOLVED}' THEN %(now)s END WHERE id = %(id)s",
        {
            "status": status,
            "progress": Jsonb({"step": step, "cursor": cursor}),
            "reached": reached,
            "unresolved": unresolved,
            "attempts": attempts,
            "retry_at": retry_at,
            "error": error,
            "now": now,
            "id": notification_id,
        },
    )


def claim_to_resume(session, now, limit):
    """Notifications whose audience waits for the registry and whose retry time has come, locked."""
    return session.fetchall(
        f"SELECT * FROM notifications WHERE status = '{RESOLVING}' AND retry_at <= %s"
        " ORDER BY retry_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    )


def notification_of(session, event_id, rule):
    return session.fetchone("SELECT * FROM notifications WHERE event_id = %s AND rule = %s", (event_id, rule))


def notifications_of_event(session, event_id):
    return session.fetchall(
        "SELECT id, source, rule, status, recipients, unresolved, attempts, last_error, created_at, resolved_at"
        " FROM notifications WHERE event_id = %s ORDER BY id",
        (event_id,),
    )


def record_digest_notification(session, *, event_id, content, now):
    """The notification of one digest: resolved at once, to its one recipient."""
    return session.fetchone(
        "INSERT INTO notifications (event_id, source, rule, category, urgency, content, audience, status,"
        " recipients, created_at, resolved_at) VALUES (%(event_id)s, %(digest)s, %(digest)s, %(digest)s, 'normal',"
        f" %(content)s, '[]', '{RESOLVED}', 1, %(now)s, %(now)s) RETURNING id",
        {"event_id": event_id, "digest": digests.SOURCE, "content": Jsonb(content), "now": now},
    )


# --- deliveries: writing a fan-out ----------------------------------------------------------------

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


def event_has_deliveries(session, event_id):
    return session.fetchone("SELECT 1 FROM deliveries WHERE event_id = %s LIMIT 1", (event_id,)) is not None


def recipients_with_deliveries(session, event_id, recipients):
    """Those of ``recipients`` that have deliveries of ``event_id``."""
    rows = session.fetchall(
        "SELECT DISTINCT recipient FROM deliveries WHERE event_id = %s"
        " AND recipient = ANY(string_to_array(%s, E'\\n'))",
        (event_id, _lines(recipients)),
    )
    return {row["recipient"] for row in rows}


def preferences_of(session, recipients):
    """recipient -> ``Preferences`` of those of ``recipients`` who chose any."""
    rows = session.fetchall(
        "SELECT * FROM preferences WHERE recipient = ANY(string_to_array(%s, E'\\n'))", (_lines(recipients),)
    )
    return {row["recipient"]: Preferences.from_row(row) for row in rows}


def copy_deliveries(session, rows):
    """Write delivery rows (``COPY_DELIVERIES``' columns) in one COPY."""
    with session.connection.cursor() as cursor, cursor.copy(COPY_DELIVERIES) as copy:
        copy.set_types(COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def record_digest_delivery(session, *, notification_id, event_id, recipient, channel, address, mention, language,
                           now):  # fmt: skip
    return session.fetchone(
        "INSERT INTO deliveries (notification_id, event_id, recipient, channel, address, mention, language, urgent,"
        " status, due_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s) RETURNING id",
        (notification_id, event_id, recipient, channel, address, mention, language, PENDING, now, now),
    )


def batch_into_digest(session, digest_id, delivery_ids):
    session.execute(
        f"UPDATE deliveries SET status = '{BATCHED}', digest_id = %s WHERE id = ANY(%s)", (digest_id, delivery_ids)
    )


def claim_for_digest(session, now, limit):
    """Messages waiting for a digest whose time has come, by recipient and channel, locked."""
    return session.fetchall(
        "SELECT d.id, d.recipient, d.channel, d.address, d.mention, d.language, n.content -> d.language AS text"
        " FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
        f" WHERE d.status = '{PENDING}' AND d.in_digest AND d.due_at <= %s"
        " ORDER BY d.recipient, d.channel, d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED",
        (now, limit),
    )


# --- deliveries: sending ------------------------------------------------------------------------


def claim_due(session, channel, now, limit):
    """The channel's deliveries that are due, urgent first, locked (nothing is claimed twice)."""
    return session.fetchall(
        "SELECT d.id, d.notification_id, d.event_id, d.recipient, d.channel, d.address, d.mention, d.attempts,"
        " n.source, n.rule, n.content -> d.language AS text"
        " FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
        f" WHERE d.channel = %(channel)s AND d.status IN {_in(DUE)} AND NOT d.in_digest AND d.due_at <= %(now)s"
        " ORDER BY d.urgent DESC, d.due_at, d.id LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED",
        {"channel": channel, "now": now, "limit": limit},
    )


def lock_bucket(session, channel):
    """The channel's rate-limit bucket, locked; None while another instance sends on it."""
    return session.fetchone(
        "SELECT tokens, refilled_at FROM rate_buckets WHERE channel = %s FOR UPDATE SKIP LOCKED", (channel,)
    )


def set_bucket(session, channel, tokens, refilled_at):
    session.execute(
        "UPDATE rate_buckets SET tokens = %s, refilled_at = %s WHERE channel = %s", (tokens, refilled_at, channel)
    )


def return_tokens(session, channel, tokens):
    session.execute("UPDATE rate_buckets SET tokens = tokens + %s WHERE channel = %s", (tokens, channel))


def record_answers(session, updates, attempts):
    """The answers of a tick: ``updates`` (status, attempts, due_at, answer, error, sent_at, id) and
    ``attempts`` (delivery_id, attempt, at, outcome, answer), one statement each."""
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


def end_batched(session, digest_id, *, status, attempts, sent_at, answer):
    """The messages a digest carried end as it ended; returns them as the sender announces them."""
    return session.fetchall(
        "UPDATE deliveries d SET status = %(status)s, attempts = %(attempts)s, sent_at = %(sent_at)s,"
        " provider_answer = %(answer)s FROM notifications n"
        f" WHERE n.id = d.notification_id AND d.digest_id = %(digest)s AND d.status = '{BATCHED}'"
        " RETURNING d.id, d.notification_id, d.event_id, d.recipient, d.channel, d.attempts, n.source, n.rule",
        {"status": status, "attempts": attempts, "sent_at": sent_at, "answer": answer, "digest": digest_id},
    )


# --- deliveries: operators --------------------------------------------------------------------------

_DELIVERY = (
    "SELECT d.id, d.notification_id, d.event_id, n.source, n.rule, d.recipient, d.channel, d.address, d.status,"
    " d.attempts, d.in_digest, d.digest_id, d.due_at, d.sent_at, d.provider_answer, d.last_error, d.created_at"
    " FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
)
FILTERS = ("status", "channel", "recipient", "event_id")


def delivery(session, delivery_id):
    """One delivery as operators see it (with its notification's source and rule), or None."""
    return session.fetchone(_DELIVERY + " WHERE d.id = %s", (delivery_id,))


def deliveries_page(session, filters, after, limit):
    """Deliveries newest first, matching ``filters`` (``FILTERS`` -> value), ids below ``after``."""
    where, params = [], {"limit": limit}
    for name in FILTERS:
        if filters.get(name) is not None:
            where.append(f"d.{name} = %({name})s")
            params[name] = filters[name]
    if after is not None:
        where.append("d.id < %(after)s")
        params["after"] = after
    return session.fetchall(
        _DELIVERY + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY d.id DESC LIMIT %(limit)s",
        params,
    )


def attempts_of(session, delivery_id):
    return session.fetchall(
        "SELECT attempt, at, outcome, answer FROM delivery_attempts WHERE delivery_id = %s ORDER BY id",
        (delivery_id,),
    )


def lock_delivery(session, delivery_id):
    return session.fetchone("SELECT * FROM deliveries WHERE id = %s FOR UPDATE", (delivery_id,))


def due_again(session, delivery_id, now):
    """A delivery to send again now, with fresh attempts and out of any digest; if it is a digest
    that died, the messages it carried wait in it again."""
    session.execute(
        f"UPDATE deliveries SET status = '{PENDING}', attempts = 0, due_at = %s, in_digest = false, digest_id = NULL"
        " WHERE id = %s",
        (now, delivery_id),
    )
    session.execute(
        f"UPDATE deliveries SET status = '{BATCHED}', sent_at = NULL WHERE digest_id = %s AND status = '{DEAD}'",
        (delivery_id,),
    )


def counts_by_channel(session, event_id):
    """channel -> deliveries of the event."""
    rows = session.fetchall(
        "SELECT channel, count(*) AS n FROM deliveries WHERE event_id = %s GROUP BY channel ORDER BY channel",
        (event_id,),
    )
    return {row["channel"]: row["n"] for row in rows}


def _by_channel_and_status(rows):
    found = {}
    for row in rows:
        found.setdefault(row["channel"], {})[row["status"]] = row["n"]
    return found


def counts_by_channel_and_status(session, event_id):
    """channel -> status -> deliveries of the event."""
    return _by_channel_and_status(
        session.fetchall(
            "SELECT channel, status, count(*) AS n FROM deliveries WHERE event_id = %s GROUP BY 1, 2", (event_id,)
        )
    )


# --- the inbox --------------------------------------------------------------------------------------


def inbox_page(session, recipients, *, unread_only, after, limit):
    """Inbox messages of ``recipients``, newest first, ids below ``after``."""
    return session.fetchall(
        "SELECT d.id, d.recipient, d.created_at, d.read_at, n.category, n.urgency, n.source,"
        " n.content -> d.language AS text FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
        f" WHERE d.channel = '{INBOX}' AND d.recipient = ANY(%(recipients)s)"
        + (" AND d.read_at IS NULL" if unread_only else "")
        + (" AND d.id < %(after)s" if after is not None else "")
        + " ORDER BY d.id DESC LIMIT %(limit)s",
        {"recipients": recipients, "after": after, "limit": limit},
    )


def count_unread(session, recipients):
    return session.fetchval(
        f"SELECT count(*) FROM deliveries WHERE channel = '{INBOX}' AND read_at IS NULL AND recipient = ANY(%s)",
        (recipients,),
    )


def inbox_ids(session, ids, recipients):
    """Those of ``ids`` that are inbox messages of ``recipients``."""
    rows = session.fetchall(
        f"SELECT id FROM deliveries WHERE id = ANY(%s) AND channel = '{INBOX}' AND recipient = ANY(%s)",
        (ids, recipients),
    )
    return {row["id"] for row in rows}


def mark_read(session, ids, now):
    """Mark those of ``ids`` not read yet; returns how many."""
    return session.fetchval(
        "WITH marked AS (UPDATE deliveries SET read_at = %s WHERE id = ANY(%s) AND read_at IS NULL RETURNING 1)"
        " SELECT count(*) FROM marked",
        (now, ids),
    )


def mark_all_read(session, recipients, now):
    """Mark every unread inbox message of ``recipients``; returns how many."""
    return session.fetchval(
        f"WITH marked AS (UPDATE deliveries SET read_at = %s WHERE channel = '{INBOX}' AND read_at IS NULL"
        " AND recipient = ANY(%s) RETURNING 1) SELECT count(*) FROM marked",
        (now, recipients),
    )


# --- preferences ----------------------------------------------------------------------------------


def preferences(session, recipient):
    """The recipient's ``Preferences``, or None: the defaults of their role."""
    row = session.fetchone("SELECT * FROM preferences WHERE recipient = %s", (recipient,))
    return None if row is None else Preferences.from_row(row)


def save_preferences(session, recipient, *, channels, quiet_start, quiet_end, digest, email, now):
    session.execute(
        "INSERT INTO preferences (recipient, channels, quiet_start, quiet_end, digest, email, updated_at)"
        " VALUES (%(recipient)s, %(channels)s, %(quiet_start)s, %(quiet_end)s, %(digest)s, %(email)s, %(now)s)"
        " ON CONFLICT (recipient) DO UPDATE SET channels = EXCLUDED.channels, quiet_start = EXCLUDED.quiet_start,"
        " quiet_end = EXCLUDED.quiet_end, digest = EXCLUDED.digest, email = EXCLUDED.email,"
        " updated_at = EXCLUDED.updated_at",
        {
            "recipient": recipient,
            "channels": Jsonb(channels),
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
            "digest": digest,
            "email": email,
            "now": now,
        },
    )


# --- figures ----------------------------------------------------------------------------------------


def stats(session, since, until, now):
    """The raw figures of ``stats``: deliveries by channel and status created in [since, until),
    the backlog per channel now, and the counts overall."""
    by_status = session.fetchall(
        "SELECT channel, status, count(*) AS n FROM deliveries WHERE created_at >= %s AND created_at < %s"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        (since, until),
    )
    backlog = session.fetchall(
        "SELECT channel, count(*) FILTER (WHERE due_at <= %(now)s) AS due, count(*) AS waiting,"
        " min(due_at) FILTER (WHERE due_at <= %(now)s) AS oldest_due_at"
        f" FROM deliveries WHERE status IN {_in(DUE)} AND NOT in_digest GROUP BY channel ORDER BY channel",
        {"now": now},
    )
    unresolved = session.fetchall(
        f"SELECT status, count(*) AS n FROM notifications WHERE status <> '{RESOLVED}' GROUP BY status"
    )
    return {
        "deliveries": _by_channel_and_status(by_status),
        "backlog": backlog,
        "dead": session.fetchval(f"SELECT count(*) FROM deliveries WHERE status = '{DEAD}'"),
        "digests_waiting": session.fetchval(
            f"SELECT count(*) FROM deliveries WHERE status = '{PENDING}' AND in_digest"
        ),
        "notifications_unresolved": {row["status"]: row["n"] for row in unresolved},
        "inbox_unread": session.fetchval(
            f"SELECT count(*) FROM deliveries WHERE channel = '{INBOX}' AND read_at IS NULL"
            " AND created_at >= %s AND created_at < %s",
            (since, until),
        ),
    }


# --- escalations -------------------------------------------------------------------------------------


def schedule_escalations(session, notification_id, steps, now):
    """The chain's steps of the notification's inbox messages: ``steps`` are (recipient, step,
    channel, after_working_minutes, due_at, role, mobile, district); once per message and step."""
    if not steps:
        return
    columns = list(zip(*steps, strict=True))
    session.execute(
        "INSERT INTO escalations (delivery_id, step, channel, after_working_minutes, due_at, status, role, mobile,"
        " district, created_at)"
        f" SELECT d.id, u.step, u.channel, u.after, u.due_at, '{SCHEDULED}', u.role, u.mobile, u.district, %s"
        " FROM unnest(%s::text[], %s::int[], %s::text[], %s::float8[], %s::timestamptz[], %s::text[], %s::text[],"
        " %s::text[]) AS u(recipient, step, channel, after, due_at, role, mobile, district)"
        f" JOIN deliveries d ON d.recipient = u.recipient AND d.notification_id = %s AND d.channel = '{INBOX}'"
        " ON CONFLICT (delivery_id, step) DO NOTHING",
        (now, *[list(column) for column in columns], notification_id),
    )


def claim_escalations(session, now, limit):
    """Scheduled steps that are due, with their inbox message and notification, locked (``SKIP
    LOCKED``: two runs of the timer never take the same step)."""
    return session.fetchall(
        "SELECT e.id, e.delivery_id, e.step, e.channel, e.due_at, e.role, e.mobile, e.district, d.read_at,"
        " d.recipient, d.event_id, d.notification_id, d.language, n.category, n.urgency, n.rule"
        " FROM escalations e JOIN deliveries d ON d.id = e.delivery_id JOIN notifications n ON n.id = d.notification_id"
        f" WHERE e.status = '{SCHEDULED}' AND e.due_at <= %s ORDER BY e.due_at, e.id LIMIT %s"
        " FOR UPDATE OF e SKIP LOCKED",
        (now, limit),
    )


def decide_escalation(session, escalation_id, status, now, *, sent_delivery_id=None, detail=None):
    session.execute(
        "UPDATE escalations SET status = %s, decided_at = %s, sent_delivery_id = %s, detail = %s WHERE id = %s",
        (status, now, sent_delivery_id, detail, escalation_id),
    )


def insert_delivery(session, row):
    """One delivery (``COPY_DELIVERIES``' columns); its id, or None if the message already has one
    for that recipient on that channel."""
    return session.fetchval(
        "INSERT INTO deliveries (notification_id, event_id, recipient, channel, address, mention, language, urgent,"
        " status, in_digest, due_at, sent_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (event_id, recipient, channel) DO NOTHING RETURNING id",
        row,
    )


def stop_escalations(session, recipients, now):
    """The chains of the read inbox messages of ``recipients`` stop: their scheduled steps are
    skipped; returns how many."""
    return session.fetchval(
        f"WITH stopped AS (UPDATE escalations e SET status = '{SKIPPED_READ}', decided_at = %s,"
        " detail = 'read at ' || d.read_at FROM deliveries d"
        f" WHERE d.id = e.delivery_id AND e.status = '{SCHEDULED}' AND d.read_at IS NOT NULL"
        " AND d.recipient = ANY(%s) RETURNING 1) SELECT count(*) FROM stopped",
        (now, recipients),
    )


def escalations_of(session, delivery_id):
    """The steps of an inbox message's chain, as its history shows them."""
    return session.fetchall(
        "SELECT step, channel, after_working_minutes, due_at, status, sent_delivery_id, detail, decided_at"
        " FROM escalations WHERE delivery_id = %s ORDER BY step",
        (delivery_id,),
    )
