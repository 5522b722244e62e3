"""The notifications service's read side: a person's own inbox and preferences (nobody else's: the
recipients a caller may read follow from their verified identity, ``domain.recipients``), and what
operators see — where deliveries stand, every attempt, the figures. Each returns plain values;
the entrypoint dumps them through the method's result schema (which masks mobiles for operators).
"""

from datetime import timedelta

from alliance_platform.errors import NotFound
from alliance_platform.paging import decode_cursor, page

from . import storage
from .domain import preferences, recipients, sends

# --- a person's own side ----------------------------------------------------------------------------


def list_inbox(ctx, cmd):
    """The caller's inbox messages (or one of their inboxes), newest first, a page at a time."""
    mine = recipients.chosen(ctx.caller, cmd["recipient"])
    after = decode_cursor(cmd["cursor"], 1)
    rows = storage.inbox_page(
        ctx.session, mine, unread_only=cmd["unread_only"], after=after[0] if after else None, limit=cmd["limit"] + 1
    )
    result = page(rows, cmd["limit"], key=lambda row: (row["id"],))
    result["items"] = [{**row, "title": row["text"]["title"], "body": row["text"]["body"]} for row in result["items"]]
    return result


def count_unread(ctx, cmd):
    return {"unread": storage.count_unread(ctx.session, recipients.chosen(ctx.caller, cmd["recipient"]))}


def get_preferences(ctx, cmd):
    """The caller's preferences beside the defaults (``domain.preferences.view``)."""
    recipient = recipients.chosen(ctx.caller, cmd["recipient"])[0]
    return preferences.view(recipient, storage.preferences(ctx.session, recipient), ctx.settings.policy)


# --- operators --------------------------------------------------------------------------------------


def list_deliveries(ctx, cmd):
    """Deliveries newest first, filtered by status, channel, recipient or event."""
    after = decode_cursor(cmd["cursor"], 1)
    rows = storage.deliveries_page(
        ctx.session, {name: cmd.get(name) for name in storage.FILTERS}, after[0] if after else None, cmd["limit"] + 1
    )
    return page(rows, cmd["limit"], key=lambda row: (row["id"],))


def delivery_status(ctx, cmd):
    """One delivery with every attempt (and, for an inbox message, each step of its escalation
    chain: scheduled, sent with the delivery it made, or skipped), or where the deliveries of an
    event (or of a ``send``, by the caller's idempotency key) stand."""
    if cmd["delivery_id"] is not None:
        delivery = storage.delivery(ctx.session, cmd["delivery_id"])
        if delivery is None:
            raise NotFound(f"no delivery {cmd['delivery_id']}")
        return {
            **delivery,
            "attempts_made": storage.attempts_of(ctx.session, delivery["id"]),
            "escalations": storage.escalations_of(ctx.session, delivery["id"]),  # an inbox message's chain
        }
    event_id = cmd["event_id"]
    if event_id is None:
        event_id = sends.event_id(ctx.caller, cmd["idempotency_key"])
    notifications = storage.notifications_of_event(ctx.session, event_id)
    if not notifications:
        raise NotFound(f"no notification for event {event_id}")
    return {
        "event_id": event_id,
        "notifications": notifications,
        "deliveries": storage.counts_by_channel_and_status(ctx.session, event_id),
    }


def stats(ctx, cmd):
    """Deliveries by channel and status and unread inbox messages over a period (default: the
    last 24 hours); what waits to be sent now, dead deliveries and unresolved audiences overall."""
    now = ctx.now
    until = cmd["until"] or now
    since = cmd["since"] or until - timedelta(days=1)
    figures = storage.stats(ctx.session, since, until, now)
    return {
        **figures,
        "since": since,
        "until": until,
        "backlog": {
            row["channel"]: {
                "due": row["due"],
                "waiting": row["waiting"],
                "oldest_due_seconds": round((now - row["oldest_due_at"]).total_seconds(), 1)
                if row["oldest_due_at"]
                else 0.0,
            }
            for row in figures["backlog"]
        },
        "channels_configured": sorted(ctx.settings.providers),
    }
