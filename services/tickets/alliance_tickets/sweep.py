"""The SLA sweep (a timer): deadlines near or missed, escalation, and closing resolved tickets.

Each warning is sent once per ticket and target (first response, resolution); each escalation level
once per ticket. ``FOR UPDATE SKIP LOCKED`` lets two instances of the service sweep side by side
without sending anything twice, and keeps a sweep from waiting on a ticket someone is handling.
"""

from datetime import timedelta

from . import lifecycle as lc
from .desk import branch_secretary_of, summary_of

BATCH = 500
# Wall-clock reach of a working-time warning window: a weekend or a holiday week lies between.
_LOOKAHEAD = timedelta(days=10)


def sweep(session, settings, now):
    """Returns counts of what was sent: {"due_soon": n, "overdue": n, "escalated": n, "auto_closed": n}."""
    counts = {"due_soon": 0, "overdue": 0, "escalated": 0, "auto_closed": 0}
    calendar = settings.calendar
    tickets = session.fetchall(
        "SELECT * FROM tickets WHERE (status IN ('submitted', 'accepted', 'in_progress', 'referred')"
        " AND resolution_due_at < %(horizon)s) OR (status = 'submitted' AND first_response_due_at < %(horizon)s)"
        " ORDER BY resolution_due_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED",
        {"horizon": now + _LOOKAHEAD, "batch": BATCH},
    )
    for ticket in tickets:
        targets = {"resolution": ticket["resolution_due_at"]}
        if ticket["status"] == lc.SUBMITTED:
            targets["first_response"] = ticket["first_response_due_at"]
        due_soon, overdue = list(ticket["due_soon_sent"]), list(ticket["overdue_sent"])
        for target, due_at in targets.items():
            payload = {**summary_of(ticket), "target": target, "due_at": due_at}
            if due_at <= now and target not in overdue:
                session.publish("ticket_overdue", payload, aggregate_id=str(ticket["id"]))
                overdue.append(target)
                counts["overdue"] += 1
            elif (
                now < due_at
                and target not in due_soon + overdue
                and calendar.working_minutes(now, due_at) <= settings.due_soon_minutes
            ):
                session.publish("ticket_due_soon", payload, aggregate_id=str(ticket["id"]))
                due_soon.append(target)
                counts["due_soon"] += 1
        level = _escalation_level(ticket, targets, now, settings)
        for next_level in range(ticket["escalation_level"] + 1, level + 1):
            _escalate(session, ticket, next_level, targets, now)
            counts["escalated"] += 1
        if (due_soon, overdue, level) != (ticket["due_soon_sent"], ticket["overdue_sent"], ticket["escalation_level"]):
            session.execute(
                "UPDATE tickets SET due_soon_sent = %s, overdue_sent = %s,"
                " escalation_level = greatest(escalation_level, %s) WHERE id = %s",
                (due_soon, overdue, level, ticket["id"]),
            )
    counts["auto_closed"] = _close_quiet_resolutions(session, now)
    return counts


def _escalation_level(ticket, targets, now, settings):
    missed = [due for due in targets.values() if due <= now]
    if not missed:
        return 0
    overdue_for = settings.calendar.working_minutes(min(missed), now)
    return 2 if overdue_for >= settings.escalate_to_alliance_after else 1


def _escalate(session, ticket, level, targets, now):
    secretary = branch_secretary_of(session, ticket["district_id"]) if level == 1 else None
    session.execute(
        "INSERT INTO timeline (ticket_id, at, actor, kind, visible_to_merchant, text, data)"
        " VALUES (%s, %s, 'system:tickets', 'escalated', false, %s, %s::jsonb)",
        (ticket["id"], now, "上报商圈党支部书记" if level == 1 else "上报联盟", f'{{"level": {level}}}'),
    )
    session.publish(
        "ticket_escalated",
        {
            **summary_of(ticket),
            "level": level,
            "escalated_to": "branch_secretary" if level == 1 else "alliance",
            "escalated_to_id": secretary,
            "due_at": min(due for due in targets.values() if due <= now),
        },
        aggregate_id=str(ticket["id"]),
    )


def _close_quiet_resolutions(session, now):
    """Resolved tickets nobody confirmed or disputed for seven days close themselves."""
    tickets = session.fetchall(
        "UPDATE tickets SET status = 'closed', closed_at = %(now)s WHERE id IN ("
        " SELECT id FROM tickets WHERE status = 'resolved' AND resolved_at <= %(cutoff)s"
        " ORDER BY resolved_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED) RETURNING *",
        {"now": now, "cutoff": now - timedelta(days=lc.AUTO_CLOSE_DAYS), "batch": BATCH},
    )
    for ticket in tickets:
        session.execute(
            "INSERT INTO timeline (ticket_id, at, actor, kind, visible_to_merchant, from_status, to_status, text)"
            " VALUES (%s, %s, 'system:tickets', 'transition', true, 'resolved', 'closed', %s)",
            (ticket["id"], now, f"{lc.AUTO_CLOSE_DAYS}天内未确认，自动办结"),
        )
        session.publish(
            "ticket_status_changed",
            {
                **summary_of(ticket),
                "from_status": "resolved",
                "to_status": "closed",
                "action": "close",
                "text": None,
                "changed_at": now,
            },
            aggregate_id=str(ticket["id"]),
        )
        session.publish(
            "ticket_closed",
            {**summary_of(ticket), "rating": None, "closed_by": "auto", "closed_at": now},
            aggregate_id=str(ticket["id"]),
        )
    return len(tickets)
