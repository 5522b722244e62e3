"""What time does by itself (a timer): registration closes at its deadline, activities start at
their start, and confirmed registrants are reminded 24 h and 2 h before — once per window.

Safe with two instances side by side: rows are claimed with ``FOR UPDATE SKIP LOCKED``, and each
reminder window is recorded on the activity in the transaction that publishes it.
"""

from datetime import timedelta

from .activities import summary_of

WINDOWS = (("24h", timedelta(hours=24)), ("2h", timedelta(hours=2)))


def tick(session, now):
    closed = session.fetchval(
        "WITH moved AS (UPDATE activities SET status = 'registration_closed' WHERE id IN ("
        " SELECT id FROM activities WHERE status = 'published' AND registration_closes_at <= %(now)s"
        " AND starts_at > %(now)s FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*) FROM moved",
        {"now": now},
    )
    started = session.fetchval(
        "WITH moved AS (UPDATE activities SET status = 'in_progress' WHERE id IN ("
        " SELECT id FROM activities WHERE status IN ('published', 'registration_closed') AND starts_at <= %(now)s"
        " AND type <> 'evaluation' FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*) FROM moved",
        {"now": now},
    )
    reminded = 0
    due = session.fetchall(
        "SELECT * FROM activities WHERE status IN ('published', 'registration_closed')"
        " AND starts_at > %(now)s AND starts_at <= %(now)s + interval '24 hours'"
        " AND NOT reminders_sent @> ARRAY['2h'] FOR UPDATE SKIP LOCKED",
        {"now": now},
    )
    for activity in due:
        left = activity["starts_at"] - now
        # The nearest window that has come and not been sent; a window already overtaken by a
        # nearer one (published late) is skipped rather than sent out of time.
        window = next((name for name, before in reversed(WINDOWS) if left <= before), None)
        if window is None or window in activity["reminders_sent"]:
            continue
        people = session.fetchall(
            "SELECT DISTINCT person_id FROM registrations WHERE activity_id = %s AND status = 'confirmed'"
            " ORDER BY person_id",
            (activity["id"],),
        )
        session.publish(
            "activity_reminder_due",
            {**summary_of(activity), "window": window, "person_ids": [p["person_id"] for p in people]},
            aggregate_id=str(activity["id"]),
        )
        session.execute(
            "UPDATE activities SET reminders_sent = array_append(reminders_sent, %s) WHERE id = %s",
            (window, activity["id"]),
        )
        reminded += 1
    return {"registration_closed": closed, "started": started, "reminders": reminded}
