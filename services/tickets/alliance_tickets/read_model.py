"""The tickets service's own copy of what it needs from the registry, fed by registry events,
so that routing and reading a ticket never wait on an RPC to the registry.

Registry events about merchants and people carry a version; an older version arriving after a
newer one (handlers run concurrently) changes nothing.
"""

import json


def merchant_registered(session, payload):
    _merchant(session, {**payload, "version": 1})


def merchant_updated(session, payload):
    _merchant(session, payload)


def _merchant(session, payload):
    session.execute(
        "INSERT INTO merchant_directory (merchant_id, shop_name, district_id, status, version)"
        " VALUES (%(merchant_id)s, %(shop_name)s, %(district_id)s, %(status)s, %(version)s)"
        " ON CONFLICT (merchant_id) DO UPDATE SET shop_name = EXCLUDED.shop_name,"
        " district_id = EXCLUDED.district_id, status = EXCLUDED.status, version = EXCLUDED.version"
        " WHERE merchant_directory.version < EXCLUDED.version",
        payload,
    )


def merchant_status_changed(session, payload):
    session.execute(
        "UPDATE merchant_directory SET status = %(status)s, version = %(version)s"
        " WHERE merchant_id = %(merchant_id)s AND version < %(version)s",
        payload,
    )


def person_changed(session, payload):
    session.execute(
        "INSERT INTO people_directory (person_id, name, district_id, roles, skills, version)"
        " VALUES (%(person_id)s, %(name)s, %(district_id)s, %(roles)s, %(skills)s, %(version)s)"
        " ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name, district_id = EXCLUDED.district_id,"
        " roles = EXCLUDED.roles, skills = EXCLUDED.skills, version = EXCLUDED.version"
        " WHERE people_directory.version < EXCLUDED.version",
        payload,
    )


def pairing_started(session, payload):
    # If the end arrived first, the pairing is already recorded as ended and stays so.
    session.execute(
        "INSERT INTO pairing_directory (pairing_id, member_id, merchant_id, active)"
        " VALUES (%(pairing_id)s, %(person_id)s, %(merchant_id)s, true) ON CONFLICT (pairing_id) DO NOTHING",
        payload,
    )


def pairing_ended(session, payload):
    session.execute(
        "INSERT INTO pairing_directory (pairing_id, member_id, merchant_id, active)"
        " VALUES (%(pairing_id)s, %(person_id)s, %(merchant_id)s, false)"
        " ON CONFLICT (pairing_id) DO UPDATE SET active = false",
        payload,
    )


def notification_outcome(session, payload, delivered):
    """Put on a ticket's timeline whether the people its events were sent to were reached: the
    owner sees that the merchant got the SMS, or that it failed and a call is needed. Only the
    outcomes of this service's own events concern it; the outbox still knows which ticket each
    event announced (deliveries end within minutes, the outbox keeps rows for days)."""
    if not payload["source"].startswith("tickets."):
        return
    ticket_id = session.fetchval("SELECT aggregate_id FROM outbox WHERE event_id = %s", (payload["event_id"],))
    if ticket_id is None:
        return
    recipient = payload["recipient"].split(":", 1)[0]
    text = (
        f"已通过{payload['channel']}通知{recipient}"
        if delivered
        else f"通过{payload['channel']}通知{recipient}失败：{payload['error']}"
    )
    session.execute(
        "INSERT INTO timeline (ticket_id, at, actor, kind, visible_to_merchant, text, data)"
        " VALUES (%s, %s, 'system:notifications', %s, false, %s, %s::jsonb)",
        (
            ticket_id,
            payload["sent_at"] if delivered else payload["failed_at"],
            "notified" if delivered else "notification_failed",
            text,
            json.dumps({k: payload[k] for k in ("delivery_id", "channel", "recipient", "source", "attempts")}),
        ),
    )
