"""The daily digest: a person's low-urgency messages that waited for the digest time go out as
one message per channel (a timer).

Each covered delivery becomes ``batched`` with ``digest_id`` naming the digest's own delivery,
which the sender treats like any other (rate limit, retries, dead); when the digest ends, its
messages end with it (``dispatch._settle_digest``). The inbox is not digested: it has every
message already.
"""

import itertools
import uuid

from psycopg.types.json import Jsonb

BATCH = 5000  # covered deliveries per tick; the rest wait for the next one

_DUE = (
    "SELECT d.id, d.recipient, d.channel, d.address, d.mention, d.language, n.content -> d.language AS text"
    " FROM deliveries d JOIN notifications n ON n.id = d.notification_id"
    " WHERE d.status = 'pending' AND d.in_digest AND d.due_at <= %s"
    " ORDER BY d.recipient, d.channel, d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED"
)


def batch_digests(session, templates, now):
    """Make the digests that are due; returns how many."""
    rows = session.fetchall(_DUE, (now, BATCH))
    made = 0
    for (recipient, channel), group in itertools.groupby(rows, key=lambda r: (r["recipient"], r["channel"])):
        items = list(group)
        first = items[0]
        content = templates.render(
            "digest",
            {"count": len(items), "items": [{"title": i["text"]["title"], "body": i["text"]["body"]} for i in items]},
        )
        event_id = uuid.uuid4()
        notification = session.fetchone(
            "INSERT INTO notifications (event_id, source, rule, category, urgency, content, audience, status,"
            " recipients, created_at, resolved_at) VALUES (%s, 'digest', 'digest', 'digest', 'normal', %s, '[]',"
            " 'resolved', 1, %s, %s) RETURNING id",
            (event_id, Jsonb(content), now, now),
        )
        digest = session.fetchone(
            "INSERT INTO deliveries (notification_id, event_id, recipient, channel, address, mention, language, urgent,"
            " status, due_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, false, 'pending', %s, %s) RETURNING id",
            (
                notification["id"],
                event_id,
                recipient,
                channel,
                first["address"],
                first["mention"],
                first["language"],
                now,
                now,
            ),
        )
        session.execute(
            "UPDATE deliveries SET status = 'batched', digest_id = %s WHERE id = ANY(%s)",
            (digest["id"], [i["id"] for i in items]),
        )
        made += 1
    return made
