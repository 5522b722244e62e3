"""Shared pieces of the use cases: the actor of a change, its history row, JSON-ready output."""

from datetime import date, datetime

from psycopg.types.json import Jsonb


def actor(caller):
    return f"{caller.kind}:{caller.subject}"


def remember(session, aggregate_type, aggregate_id, action, details, caller, now):
    """Add one change to the history (who, when, what) in the use case's transaction."""
    session.execute(
        "INSERT INTO history (aggregate_type, aggregate_id, action, details, actor, at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (aggregate_type, str(aggregate_id), action, Jsonb(json_ready(details)), actor(caller), now),
    )


def remember_many(session, entries, caller, now):
    """Several history rows at once: ``entries`` of (aggregate_type, aggregate_id, action, details)."""
    if not entries:
        return
    with session.connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO history (aggregate_type, aggregate_id, action, details, actor, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(t, str(i), a, Jsonb(json_ready(d)), actor(caller), now) for t, i, a, d in entries],
        )


def history(session, aggregate_type, aggregate_id):
    rows = session.fetchall(
        "SELECT action, details, actor, at FROM history WHERE aggregate_type = %s AND aggregate_id = %s ORDER BY id",
        (aggregate_type, str(aggregate_id)),
    )
    return [json_ready(row) for row in rows]


def json_ready(value):
    """Dates as ISO strings, containers walked: what every caller (not only Python) can read."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
