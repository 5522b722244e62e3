"""A person's own side: the in-app inbox and their preferences. Nobody reads or changes anyone
else's: the recipients a caller may act for follow from their verified identity alone."""

from datetime import date, datetime, time

from psycopg.types.json import Jsonb

from alliance_platform.errors import Forbidden, NotFound
from alliance_platform.paging import decode_cursor, page

from .preferences import Preferences, channels_for, check_preferences
from .timing import QuietHours


def json_ready(value):
    """Dates and times as ISO strings, containers walked: what any caller (not only Python) reads."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else value.isoformat()
    return value


def own_recipients(caller):
    """The inboxes a caller owns: their own as a person, and their shop's for a merchant."""
    if caller.kind == "system":
        raise Forbidden("internal systems have no inbox or preferences")
    mine = [f"person:{caller.subject}"]
    if caller.kind == "merchant" and caller.merchant_id:
        mine.insert(0, f"merchant:{caller.merchant_id}")
    return mine


def _chosen(caller, recipient):
    mine = own_recipients(caller)
    if recipient is None:
        return mine
    if recipient not in mine:
        raise Forbidden("a person reads and changes only their own inbox and preferences")
    return [recipient]


# --- the inbox --------------------------------------------------------------------------------------


def list_inbox(session, caller, cmd):
    recipients = _chosen(caller, cmd["recipient"])
    after = decode_cursor(cmd["cursor"], 1)
    rows = session.fetchall(
        "SELECT d.id, d.recipient, d.created_at, d.read_at, n.category, n.urgency, n.source,"
        " n.content -> d.language AS text FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
        " WHERE d.channel = 'inbox' AND d.recipient = ANY(%(recipients)s)"
        + (" AND d.read_at IS NULL" if cmd["unread_only"] else "")
        + (" AND d.id < %(after)s" if after else "")
        + " ORDER BY d.id DESC LIMIT %(limit)s",
        {"recipients": recipients, "after": after[0] if after else None, "limit": cmd["limit"] + 1},
    )
    result = page(rows, cmd["limit"], key=lambda row: (row["id"],))
    result["items"] = [
        json_ready(
            {
                "id": row["id"],
                "recipient": row["recipient"],
                "category": row["category"],
                "urgency": row["urgency"],
                "source": row["source"],
                "title": row["text"]["title"],
                "body": row["text"]["body"],
                "created_at": row["created_at"],
                "read_at": row["read_at"],
            }
        )
        for row in result["items"]
    ]
    return result


def count_unread(session, caller, recipient=None):
    recipients = _chosen(caller, recipient)
    unread = session.fetchval(
        "SELECT count(*) FROM deliveries WHERE channel = 'inbox' AND read_at IS NULL AND recipient = ANY(%s)",
        (recipients,),
    )
    return {"unread": unread}


def mark_read(session, caller, cmd, now):
    """Mark the given messages (or all) read; a message that is not the caller's is ``NotFound``
    and nothing changes."""
    recipients = own_recipients(caller)
    if cmd["all"]:
        marked = session.fetchval(
            "WITH marked AS (UPDATE deliveries SET read_at = %s WHERE channel = 'inbox' AND read_at IS NULL"
            " AND recipient = ANY(%s) RETURNING 1) SELECT count(*) FROM marked",
            (now, recipients),
        )
    else:
        ids = sorted(set(cmd["ids"]))
        found = {
            row["id"]
            for row in session.fetchall(
                "SELECT id FROM deliveries WHERE id = ANY(%s) AND channel = 'inbox' AND recipient = ANY(%s)",
                (ids, recipients),
            )
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no messages {missing} in your inbox")
        marked = session.fetchval(
            "WITH marked AS (UPDATE deliveries SET read_at = %s WHERE id = ANY(%s) AND read_at IS NULL RETURNING 1)"
            " SELECT count(*) FROM marked",
            (now, ids),
        )
    return {"marked": marked, **count_unread(session, caller)}


# --- preferences ----------------------------------------------------------------------------------


def _load_preferences(session, recipient):
    row = session.fetchone("SELECT * FROM preferences WHERE recipient = %s", (recipient,))
    return None if row is None else Preferences.from_row(row)


def present_preferences(recipient, prefs, policy):
    role = "merchant" if recipient.startswith("merchant:") else "staff"
    quiet = prefs.quiet_hours if prefs is not None else None
    hours = quiet or policy.quiet_hours
    return json_ready(
        {
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
    )


def get_preferences(session, caller, policy, recipient=None):
    recipient = _chosen(caller, recipient)[0]
    return present_preferences(recipient, _load_preferences(session, recipient), policy)


def set_preferences(session, caller, policy, cmd, now):
    """Change the fields given (``quiet_hours: null`` returns to trading hours); an invalid
    preference is a ``ValidationError`` and changes nothing."""
    recipient = _chosen(caller, cmd.pop("recipient"))[0]
    current = _load_preferences(session, recipient)
    check_preferences(cmd, current, policy.categories)
    base = current or Preferences(recipient)
    quiet = base.quiet_hours
    if "quiet_hours" in cmd:
        hours = cmd["quiet_hours"]
        quiet = QuietHours(hours["start"], hours["end"]) if hours else None
    session.execute(
        "INSERT INTO preferences (recipient, channels, quiet_start, quiet_end, digest, email, updated_at)"
        " VALUES (%(recipient)s, %(channels)s, %(quiet_start)s, %(quiet_end)s, %(digest)s, %(email)s, %(now)s)"
        " ON CONFLICT (recipient) DO UPDATE SET channels = EXCLUDED.channels, quiet_start = EXCLUDED.quiet_start,"
        " quiet_end = EXCLUDED.quiet_end, digest = EXCLUDED.digest, email = EXCLUDED.email,"
        " updated_at = EXCLUDED.updated_at",
        {
            "recipient": recipient,
            "channels": Jsonb(cmd.get("channels", base.channels)),
            "quiet_start": quiet.start if quiet else None,
            "quiet_end": quiet.end if quiet else None,
            "digest": cmd.get("digest", base.digest),
            "email": cmd.get("email", base.email),
            "now": now,
        },
    )
    return present_preferences(recipient, _load_preferences(session, recipient), policy)
