"""The demand desk's use cases: each runs in the calling worker's one transaction.

``Desk`` bundles what every use case needs (the session, the verified caller, the current time
from the service clock, the configured rules); the service class builds one per call. Every change
is recorded on the ticket's timeline with actor and time, and announced by an event.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.types.json import Jsonb

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError

from . import lifecycle as lc
from .directory import Directory
from .routing import Route

HANDLERS = frozenset({"admin", "staff", "branch_secretary", "department_liaison", "volunteer", "system"})

_SUMMARY = ("ticket_id", "reference", "merchant_id", "district_id", "category", "responsible_id", "team", "parent_id")


@dataclass
class Desk:
    session: object
    caller: object
    now: datetime
    settings: object

    # --- who may do what -----------------------------------------------------------------------

    def is_merchant_of(self, ticket):
        return self.caller.kind == "merchant" and self.caller.merchant_id == str(ticket["merchant_id"])

    def is_handler_of(self, ticket):
        caller = self.caller
        if caller.kind == "merchant" or not caller.has_any_role(HANDLERS):
            return False
        return caller.covers_district(ticket["district_id"]) or caller.subject in (
            ticket["responsible_id"],
            ticket["proposed_id"],
        )

    def require_view(self, ticket):
        if not (self.is_merchant_of(ticket) or self.is_handler_of(ticket)):
            raise Forbidden(f"{self.caller.kind} {self.caller.subject} may not see ticket {ticket['reference']}")

    def require_handler(self, ticket):
        if not self.is_handler_of(ticket):
            raise Forbidden(f"only staff of {ticket['district_id']} or its owner may handle {ticket['reference']}")

    def require_merchant(self, ticket):
        if not self.is_merchant_of(ticket):
            raise Forbidden(f"only the merchant may do this on {ticket['reference']}")

    # --- reading and recording -----------------------------------------------------------------

    def load(self, ticket_id, lock=True):
        row = self.session.fetchone(
            "SELECT * FROM tickets WHERE id = %s" + (" FOR UPDATE" if lock else ""), (str(ticket_id),)
        )
        if row is None:
            raise NotFound(f"no ticket {ticket_id}")
        return row

    def record(self, ticket, kind, *, text=None, visible=True, from_status=None, to_status=None, data=None, actor=None):
        """A line on the ticket's timeline; ``actor`` when not the caller (the service's own reaction)."""
        self.session.defer(
            "INSERT INTO timeline (ticket_id, at, actor, kind, visible_to_merchant, from_status, to_status, text, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                ticket["id"],
                self.now,
                actor or self.actor,
                kind,
                visible,
                from_status,
                to_status,
                text,
                Jsonb(data or {}),
            ),
        )

    @property
    def actor(self):
        return f"{self.caller.kind}:{self.caller.subject}"

    def publish(self, ticket, event_type, **payload):
        summary = summary_of(ticket)
        self.session.publish(event_type, {**summary, **payload}, aggregate_id=summary["ticket_id"])

    def update(self, ticket, **changes):
        assignments = ", ".join(f"{column} = %({column})s" for column in changes)
        row = self.session.fetchone(
            f"UPDATE tickets SET {assignments} WHERE id = %(id)s RETURNING *", {**changes, "id": ticket["id"]}
        )
        return row

    def transition(self, ticket, action, text=None, visible=True, **changes):
        """Move ``ticket`` by ``action`` (a ``Conflict`` if not allowed), record and announce it."""
        target = lc.next_state(ticket["status"], action)
        updated = self.update(ticket, status=target, **changes)
        self.record(updated, "transition", text=text, visible=visible, from_status=ticket["status"], to_status=target)
        self.publish(
            updated,
            "ticket_status_changed",
            from_status=ticket["status"],
            to_status=target,
            action=action,
            text=text if visible else None,
            changed_at=self.now,
        )
        return updated


def summary_of(ticket):
    values = {
        "ticket_id": ticket["id"],
        "reference": ticket["reference"],
        "merchant_id": ticket["merchant_id"],
        "district_id": ticket["district_id"],
        "category": ticket["category"],
        "responsible_id": ticket["responsible_id"],
        "team": ticket["team"],
        "parent_id": ticket["parent_id"],
    }
    return {k: (None if values[k] is None else str(values[k])) for k in _SUMMARY}


# --- submitting ------------------------------------------------------------------------------


def submit(desk, cmd, parent=None, unit=None):
    session, settings = desk.session, desk.settings
    merchant = session.fetchone(
        "SELECT merchant_id, district_id, status FROM merchant_directory WHERE merchant_id = %s",
        (str(cmd["merchant_id"]),),
    )
    if merchant is None:
        raise ValidationError(
            "unknown merchant", {"merchant_id": [f"no merchant {cmd['merchant_id']} in the register"]}
        )
    if merchant["status"] == "closed":
        raise Conflict(f"merchant {cmd['merchant_id']} is closed in the register")
    if parent is None:
        if desk.caller.kind == "merchant":
            if desk.caller.merchant_id != str(merchant["merchant_id"]):
                raise Forbidden("a merchant submits demands for its own shop only")
        elif not desk.caller.has_any_role(HANDLERS) or not desk.caller.covers_district(merchant["district_id"]):
            raise Forbidden(f"{desk.actor} may not submit demands in {merchant['district_id']}")
    # A child task goes to a unit: another district (routed there), or a named team.
    to_district = unit is not None and session.fetchone(
        "SELECT 1 FROM merchant_directory WHERE district_id = %s LIMIT 1", (unit,)
    )
    district = unit if to_district else merchant["district_id"]
    route = settings.routing.route(cmd["category"], district, Directory(session, merchant["merchant_id"], district))
    if unit is not None and not to_district:
        route = Route("team", None, unit, route.rule)
    targets = settings.sla.targets(cmd["category"], cmd["handling_mode"])
    first_due, resolution_due = settings.sla.due_dates(settings.calendar, desk.now, targets)
    checklist = [
        {"id": n, "item": step["item"], "documents": step.get("documents", []), "done": False}
        for n, step in enumerate(settings.checklists.get(cmd["category"], []) if route.style == "checklist" else [], 1)
    ]
    # The year's next reference number and the ticket in one statement (one round trip): the
    # counter row stays locked until commit, so it is taken last, after the slower work above.
    ticket = session.fetchone(
        "WITH counter AS (INSERT INTO reference_counters (year, last) VALUES (%(year)s, 1)"
        "   ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1 RETURNING last)"
        " INSERT INTO tickets (id, reference, parent_id, merchant_id, district_id, requester_id, category,"
        " handling_mode, title, description, attachments, status, style, team, proposed_id, unit, checklist,"
        " submitted_at, first_response_due_at, resolution_due_at)"
        " SELECT %(id)s,"
        "   format('DM-%%s-%%s', %(year)s, lpad(counter.last::text, greatest(6, length(counter.last::text)), '0')),"
        " %(parent_id)s, %(merchant_id)s, %(district_id)s, %(requester_id)s,"
        " %(category)s, %(handling_mode)s, %(title)s, %(description)s, %(attachments)s, 'submitted', %(style)s,"
        " %(team)s, %(proposed_id)s, %(unit)s, %(checklist)s, %(now)s, %(first_due)s, %(resolution_due)s"
        " FROM counter RETURNING *",
        {
            "id": str(uuid.uuid4()),
            "year": desk.now.astimezone(settings.calendar.timezone).year,
            "parent_id": parent["id"] if parent else None,
            "merchant_id": merchant["merchant_id"],
            "district_id": district,
            "requester_id": cmd.get("requester_id") or desk.caller.subject,
            "category": cmd["category"],
            "handling_mode": cmd["handling_mode"],
            "title": cmd["title"],
            "description": cmd["description"],
            "attachments": Jsonb(cmd.get("attachments") or []),
            "style": route.style,
            "team": route.team,
            "proposed_id": route.assignee,
            "unit": unit,
            "checklist": Jsonb(checklist),
            "now": desk.now,
            "first_due": first_due,
            "resolution_due": resolution_due,
        },
    )
    desk.record(ticket, "submitted", to_status=lc.SUBMITTED, text=cmd["title"], data={"route": route.style})
    desk.publish(
        ticket,
        "ticket_submitted",
        title=ticket["title"],
        handling_mode=ticket["handling_mode"],
        requester_id=ticket["requester_id"],
        style=ticket["style"],
        submitted_at=ticket["submitted_at"],
        first_response_due_at=ticket["first_response_due_at"],
        resolution_due_at=ticket["resolution_due_at"],
    )
    desk.publish(ticket, "ticket_assigned", assignee_id=route.assignee, style=route.style, accepted=False, reason=None)
    return ticket


# --- handling --------------------------------------------------------------------------------


def accept(desk, ticket_id):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    # Two staff accepting at once: the row lock makes the second wait, then see it accepted.
    ticket = desk.transition(ticket, "accept", responsible_id=desk.caller.subject, accepted_at=desk.now)
    desk.publish(
        ticket, "ticket_assigned", assignee_id=desk.caller.subject, style=ticket["style"], accepted=True, reason=None
    )
    return ticket


def assign(desk, ticket_id, assignee_id, reason):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    if ticket["status"] in lc.FINAL:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: it cannot be reassigned")
    if assignee_id == ticket["responsible_id"]:
        raise Conflict(f"{ticket['reference']} is already owned by {assignee_id}")
    person = desk.session.fetchone("SELECT person_id FROM people_directory WHERE person_id = %s", (assignee_id,))
    if person is None:
        raise ValidationError("unknown person", {"assignee_id": [f"no person {assignee_id} in the register"]})
    changes = {"responsible_id": assignee_id}
    if ticket["status"] == lc.SUBMITTED:
        # Assigning a new case names its owner: it counts as the first response.
        changes.update(status=lc.ACCEPTED, accepted_at=desk.now)
    updated = desk.update(ticket, **changes)
    desk.record(
        updated,
        "reassignment",
        text=reason,
        visible=False,
        from_status=ticket["status"],
        to_status=updated["status"],
        data={"from": ticket["responsible_id"], "to": assignee_id},
    )
    desk.publish(
        updated, "ticket_assigned", assignee_id=assignee_id, style=updated["style"], accepted=True, reason=reason
    )
    return updated


def start(desk, ticket_id):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    return desk.transition(ticket, "start")


def request_info(desk, ticket_id, question):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    ticket = desk.transition(ticket, "request_info", text=question, sla_paused_at=desk.now)
    desk.record(ticket, "sla_paused", text=question)
    return ticket


def provide_info(desk, ticket_id, answer):
    ticket = desk.load(ticket_id)
    if not (desk.is_merchant_of(ticket) or desk.is_handler_of(ticket)):
        raise Forbidden(f"only the merchant or its handlers may answer on {ticket['reference']}")
    if ticket["status"] != lc.WAITING_ON_MERCHANT:
        # Before the deadline is worked out: only a paused ticket has a pause to end.
        raise Conflict(f"{ticket['reference']} is not waiting for information: it is {ticket['status']}")
    calendar = desk.settings.calendar
    resumed_due = desk.settings.sla.resumed_deadline(
        calendar, ticket["sla_paused_at"], ticket["resolution_due_at"], desk.now
    )
    ticket = desk.transition(ticket, "provide_info", text=answer, sla_paused_at=None, resolution_due_at=resumed_due)
    desk.record(ticket, "sla_resumed", data={"resolution_due_at": resumed_due.isoformat()})
    return ticket


def refer(desk, ticket_id, partner, note):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    return desk.transition(
        ticket, "refer", text=f"转交{partner}：{note}" if note else f"转交{partner}", partner=partner
    )


def record_partner_reply(desk, ticket_id, reply):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    return desk.transition(ticket, "record_partner_reply", text=reply, partner_reply=reply)


def resolve(desk, ticket_id, resolution):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    open_children = desk.session.fetchval(
        "SELECT count(*) FROM tickets WHERE parent_id = %s AND status <> ALL (%s)",
        (ticket["id"], sorted(lc.FINAL | {lc.RESOLVED})),
    )
    if open_children:
        raise Conflict(f"{ticket['reference']} has {open_children} open child task(s): resolve them first")
    on_time = desk.now <= ticket["resolution_due_at"]
    ticket = desk.transition(
        ticket, "resolve", text=resolution, resolution=resolution, resolved_at=desk.now, resolved_on_time=on_time
    )
    desk.publish(ticket, "ticket_resolved", resolution=resolution, resolved_at=desk.now, on_time=on_time)
    return ticket


def close(desk, ticket_id, rating, comment):
    """The merchant confirms and rates; a rating of 2 or less reopens the case instead."""
    ticket = desk.load(ticket_id)
    desk.require_merchant(ticket)
    lc.next_state(ticket["status"], "close")  # a Conflict before anything is written
    desk.update(ticket, rating=rating)
    desk.publish(ticket, "feedback_received", rating=rating, comment=comment, received_at=desk.now)
    if lc.rating_reopens(rating):
        ticket = _reopen(desk, desk.load(ticket_id), f"满意度评分{rating}分：{comment or '不满意'}")
        _schedule_follow_up_call(desk, ticket, rating, comment)
        return ticket
    ticket = desk.transition(desk.load(ticket_id), "close", text=comment, closed_at=desk.now)
    desk.publish(ticket, "ticket_closed", rating=rating, closed_by="merchant", closed_at=desk.now)
    return ticket


def reject(desk, ticket_id, reason):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    return desk.transition(ticket, "reject", text=reason)


def cancel(desk, ticket_id, reason):
    ticket = desk.load(ticket_id)
    desk.require_merchant(ticket)
    return desk.transition(ticket, "cancel", text=reason)


def reopen(desk, ticket_id, reason):
    """A dispute: the merchant, within seven days of the resolution (an administrator any time)."""
    ticket = desk.load(ticket_id)
    if not (desk.is_merchant_of(ticket) or desk.caller.is_admin):
        raise Forbidden(f"only the merchant may dispute {ticket['reference']}")
    lc.next_state(ticket["status"], "reopen")
    if not desk.caller.is_admin and desk.now - ticket["resolved_at"] > timedelta(days=lc.REOPEN_WINDOW_DAYS):
        raise Conflict(f"{ticket['reference']} was resolved more than {lc.REOPEN_WINDOW_DAYS} days ago")
    return _reopen(desk, ticket, reason)


def _reopen(desk, ticket, reason):
    ticket = desk.transition(ticket, "reopen", text=reason, reopen_count=ticket["reopen_count"] + 1, closed_at=None)
    desk.publish(ticket, "ticket_reopened", reason=reason, reopen_count=ticket["reopen_count"], reopened_at=desk.now)
    return ticket


def branch_secretary_of(session, district_id):
    """The district's branch secretary as this service knows them (the first by id), or None."""
    return session.fetchval(
        "SELECT person_id FROM people_directory WHERE 'branch_secretary' = ANY (roles) AND district_id = %s"
        " ORDER BY person_id LIMIT 1",
        (district_id,),
    )


def _schedule_follow_up_call(desk, ticket, rating, comment):
    """A poor rating is followed up by a call to the merchant (回访) from the district's branch
    secretary — the supervisor of the handling, not the handler whose work was rated — within
    ``FOLLOW_UP_CALL_WORKING_MINUTES`` of the centre's working time."""
    calendar = desk.settings.calendar
    call_by = branch_secretary_of(desk.session, ticket["district_id"])
    due_at = calendar.add(desk.now, lc.FOLLOW_UP_CALL_WORKING_MINUTES)
    local = due_at.astimezone(calendar.timezone)
    desk.record(
        ticket,
        "follow_up_call",
        text=f"满意度评分{rating}分：请于{local.month}月{local.day}日 {local:%H:%M}前回访商户",
        visible=False,
        actor="system:tickets",
        data={"rating": rating, "comment": comment, "call_by": call_by, "due_at": due_at.isoformat()},
    )
    desk.publish(
        ticket,
        "follow_up_call_scheduled",
        rating=rating,
        comment=comment,
        call_by_id=call_by,
        due_at=due_at,
        scheduled_at=desk.now,
    )


def add_note(desk, ticket_id, text, visible_to_merchant):
    ticket = desk.load(ticket_id)
    if ticket["status"] in lc.FINAL:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: no more notes")
    if desk.is_merchant_of(ticket):
        visible_to_merchant = True  # a merchant's note is always the merchant's own words
    else:
        desk.require_handler(ticket)
    desk.record(ticket, "note", text=text, visible=visible_to_merchant)
    return ticket


def tick_checklist_item(desk, ticket_id, item_id, done):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    if ticket["status"] in lc.FINAL or ticket["status"] == lc.RESOLVED:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: its checklist is closed")
    items = ticket["checklist"]
    if not any(item["id"] == item_id for item in items):
        raise ValidationError("unknown checklist item", {"item_id": [f"{ticket['reference']} has no item {item_id}"]})
    items = [{**item, "done": done} if item["id"] == item_id else item for item in items]
    ticket = desk.update(ticket, checklist=Jsonb(items))
    desk.record(ticket, "checklist", text=next(i["item"] for i in items if i["id"] == item_id), data={"done": done})
    return ticket


# --- joint handling across districts ---------------------------------------------------------


def add_child_task(desk, parent_id, cmd):
    parent = desk.load(parent_id)
    desk.require_handler(parent)
    if parent["status"] in lc.FINAL or parent["status"] == lc.RESOLVED:
        raise Conflict(f"{parent['reference']} is {parent['status']}: no new tasks")
    if parent["parent_id"] is not None:
        raise Conflict(f"{parent['reference']} is itself a task: tasks do not nest")
    child = submit(
        desk,
        {**cmd, "merchant_id": parent["merchant_id"], "category": cmd.get("category") or parent["category"]},
        parent=parent,
        unit=cmd["unit"],
    )
    desk.record(parent, "child_task", text=cmd["title"], data={"child": child["reference"], "unit": cmd["unit"]})
    return child


def refuse_task(desk, ticket_id, reason):
    ticket = desk.load(ticket_id)
    desk.require_handler(ticket)
    if ticket["parent_id"] is None:
        raise Conflict(f"{ticket['reference']} is not a task of a joint demand; reject it instead")
    parent = desk.load(ticket["parent_id"], lock=False)
    ticket = desk.transition(ticket, "reject", text=reason, visible=False, refusal_reason=reason)
    desk.record(parent, "task_refused", text=reason, visible=False, data={"child": ticket["reference"]})
    desk.publish(
        ticket,
        "task_refused",
        parent_reference=parent["reference"],
        parent_responsible_id=parent["responsible_id"],
        unit=ticket["unit"] or ticket["district_id"],
        refused_by=desk.caller.subject,
        reason=reason,
        refused_at=desk.now,
    )
    return ticket
