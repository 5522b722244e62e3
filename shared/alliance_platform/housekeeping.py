"""Housekeeping of the platform's own tables, run by every service on a timer.

Rows that only matter for a while are deleted once they cannot matter any more: published outbox
rows (kept for an operator's look), processed event ids (a redelivery comes within minutes, not
weeks), the stored answers of RPC commands (a redelivered request comes within seconds) and, after
``AUDIT_RETENTION_DAYS``, the record of who changed what (``changes``, ``audit.py``).
"""


def purge(session, config):
    counts = {}
    for table, column, condition, key in (
        ("outbox", "published_at", "published_at IS NOT NULL AND", "OUTBOX_RETENTION_DAYS"),
        ("processed_events", "processed_at", "", "INBOX_RETENTION_DAYS"),
        ("command_answers", "handled_at", "", "RPC_REQUEST_RETENTION_DAYS"),
        ("changes", "at", "", "AUDIT_RETENTION_DAYS"),
    ):
        counts[table] = session.fetchval(
            f"WITH gone AS (DELETE FROM {table} WHERE {condition} {column} < now() - make_interval(days => %s)"
            " RETURNING 1) SELECT count(*) FROM gone",
            (int(config[key]),),
        )
    return counts
