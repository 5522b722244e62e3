"""The demand list's commands: one function per command, ``command(ctx, cmd)``, each in the calling
worker's one transaction.

``ctx`` is the platform's ``UseCaseContext``: ``ctx.session`` (the transaction, with the outbox),
``ctx.caller`` (the verified identity; None when the service acts by itself, in a timer or on an
event), ``ctx.now`` (read once from the service clock) and ``ctx.settings`` (``settings.Settings``).

Every change of a ticket is recorded on its timeline with actor and time and announced by an event,
in the same commit as the change. A refused command raises a typed error (``Forbidden``,
``Conflict``, ``NotFound``, ``ValidationError``) and its transaction rolls back: nothing changes.
Who may do what is ``domain.access``, which step may follow which ``domain.lifecycle``, the SQL
``storage``. The SLA sweep (``timers.py``) moves tickets with the same functions.
"""

from alliance_contracts.tickets import CLOSED_BY
from alliance_platform.errors import Conflict, Forbidden, ValidationError

from . import storage
from .domain import access, custody, deadlines, follow_up, routing, supervision
from .domain import lifecycle as lc
from .domain.checklists import new_checklist, tick
from .domain.routing import Route

BY_MERCHANT, BY_TIME = CLOSED_BY
# What every ticket event carries, so a consumer can act without asking back.
_SUMMARY = ("ticket_id", "reference", "merchant_id", "district_id", "category", "responsible_id", "team", "parent_id")


def summary_of(ticket):
    values = {**ticket, "ticket_id": ticket["id"]}
    return {k: (None if values[k] is None else str(values[k])) for k in _SUMMARY}


# --- recording and announcing ----------------------------------------------------------------


def _record(ctx, ticket, kind, *, text=None, visible=True, from_status=None, to_status=None, data=None, actor=None):
    """A line on the ticket's timeline; ``actor`` when not the caller (the service's own reaction)."""
    storage.add_timeline(
        ctx.session,
        ticket["id"],
        ctx.now,
        actor or access.actor(ctx.caller),
        kind,
        visible=visible,
        from_status=from_status,
        to_status=to_status,
        text=text,
        data=data,
    )


def _publish(ctx, ticket, event_type, **payload):
    summary = summary_of(ticket)
    ctx.session.publish(event_type, {**summary, **payload}, aggregate_id=summary["ticket_id"])


def _transition(ctx, ticket, action, text=None, visible=True, **changes):
    """Move ``ticket`` by ``action`` (a ``Conflict`` if not allowed), record and announce it;
    ``text`` is told the merchant unless ``visible`` is false. A step that takes a supervised
    ticket out of work lifts its supervision."""
    target = lc.next_state(ticket["status"], action)
    lifted_because = supervision.lifted_because(action) if ticket["supervision_due_at"] is not None else None
    if lifted_because:
        changes["supervision_due_at"] = None
    updated = storage.update_ticket(ctx.session, ticket, status=target, **changes)
    _record(ctx, updated, "transition", text=text, visible=visible, from_status=ticket["status"], to_status=target)
    _publish(
        ctx,
        updated,
        "ticket_status_changed",
        from_status=ticket["status"],
        to_status=target,
        action=action,
        text=text if visible else None,
        changed_at=ctx.now,
    )
    if lifted_because:
        _lift_supervision(ctx, updated, lifted_because, ticket["supervision_due_at"])
    return updated


def _handled(ctx, ticket_id):
    """The ticket, locked until commit, if the caller is one of its handlers."""
    ticket = storage.ticket(ctx.session, ticket_id)
    access.require_handler(ctx.caller, ticket)
    return ticket


# --- submitting ------------------------------------------------------------------------------


def submit_ticket(ctx, cmd):
    return _submit(ctx, cmd)


def _submit(ctx, cmd, parent=None, unit=None):
    """A demand of the merchant ``cmd["merchant_id"]``, or a task of ``parent`` for ``unit``."""
    session, settings = ctx.session, ctx.settings
    merchant = storage.merchant(session, cmd["merchant_id"])
    if merchant is None:
        raise ValidationError(
            "unknown merchant", {"merchant_id": [f"no merchant {cmd['merchant_id']} in the register"]}
        )
    if merchant["status"] == "closed":
        raise Conflict(f"merchant {cmd['merchant_id']} is closed in the register")
    if parent is None:
        access.require_may_submit(ctx.caller, merchant)
    # A child task goes to a unit: another district (routed there), or a named team.
    to_district = unit is not None and storage.is_known_district(session, unit)
    district = unit if to_district else merchant["district_id"]
    directory = storage.RoutingDirectory(session, merchant["merchant_id"], district)
    route = settings.routing.route(cmd["category"], district, directory, now=ctx.now)
    if unit is not None and not to_district:
        route = Route("team", None, unit, route.rule)
    targets = settings.sla.targets(cmd["category"], cmd["handling_mode"])
    first_due, resolution_due = settings.sla.due_dates(settings.calendar, ctx.now, targets)
    steps = settings.checklists.get(cmd["category"], []) if route.style == "checklist" else []
    partner = storage.organisation(session, route.organisation) if route.organisation else None
    ticket = storage.insert_ticket(
        session,
        {
            "year": ctx.now.astimezone(settings.calendar.timezone).year,
            "parent_id": parent["id"] if parent else None,
            "merchant_id": merchant["merchant_id"],
            "district_id": district,
            "requester_id": cmd.get("requester_id") or ctx.caller.subject,
            "category": cmd["category"],
            "handling_mode": cmd["handling_mode"],
            "title": cmd["title"],
            "description": cmd["description"],
            "attachments": cmd.get("attachments") or [],
            "status": lc.SUBMITTED,
            "style": route.style,
            "team": route.team,
            "proposed_id": route.assignee,
            "unit": unit,
            "checklist": new_checklist(steps),
            "submitted_at": ctx.now,
            "first_due": first_due,
            "resolution_due": resolution_due,
            "partner_id": route.organisation,
            "partner": partner["name"] if partner else None,
        },
    )
    _record(ctx, ticket, "submitted", to_status=lc.SUBMITTED, text=cmd["title"], data={"route": route.style})
    if route.fell_back and route.style == "partner":
        # Said on the timeline for staff: the partner the rule names cannot take it now (retired, no
        # liaison, unknown), and the fallback team has it. The other styles' fallbacks (no volunteer
        # free, no pairing) are their ordinary course and go unsaid, as before.
        _record(
            ctx,
            ticket,
            "routing_fell_back",
            text=f"{route.fell_back}: routed to {route.team}",
            visible=False,
            data={"style": route.style, "team": route.team, "organisation": route.rule.organisation},
        )
    _publish(
        ctx,
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
    _publish(ctx, ticket, "ticket_assigned", assignee_id=route.assignee, style=route.style, accepted=False, reason=None)
    return ticket


# --- handling --------------------------------------------------------------------------------


def accept_ticket(ctx, cmd):
    """Whoever accepts a case owns it (首接负责制). Two staff accepting at once: the row lock makes
    the second wait, then find it accepted (a ``Conflict``)."""
    ticket = _handled(ctx, cmd["ticket_id"])
    me = ctx.caller.subject
    ticket = _transition(ctx, ticket, "accept", responsible_id=me, accepted_at=ctx.now)
    _publish(ctx, ticket, "ticket_assigned", assignee_id=me, style=ticket["style"], accepted=True, reason=None)
    return ticket


def assign_ticket(ctx, cmd):
    """Give the case to another owner, with a reason (for staff only). Assigning a new case names
    its owner: it counts as its acceptance, the first response."""
    ticket = _handled(ctx, cmd["ticket_id"])
    assignee_id, reason = cmd["assignee_id"], cmd["reason"]
    if ticket["status"] in lc.FINAL:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: it cannot be reassigned")
    if assignee_id == ticket["responsible_id"]:
        raise Conflict(f"{ticket['reference']} is already owned by {assignee_id}")
    if storage.person(ctx.session, assignee_id) is None:
        raise ValidationError("unknown person", {"assignee_id": [f"no person {assignee_id} in the register"]})
    changes = {"responsible_id": assignee_id}
    if ticket["status"] == lc.SUBMITTED:
        changes.update(status=lc.next_state(ticket["status"], "accept"), accepted_at=ctx.now)
    updated = storage.update_ticket(ctx.session, ticket, **changes)
    _record(
        ctx,
        updated,
        "reassignment",
        text=reason,
        visible=False,
        from_status=ticket["status"],
        to_status=updated["status"],
        data={"from": ticket["responsible_id"], "to": assignee_id},
    )
    _publish(
        ctx, updated, "ticket_assigned", assignee_id=assignee_id, style=updated["style"], accepted=True, reason=reason
    )
    return updated


def start_ticket(ctx, cmd):
    return _transition(ctx, _handled(ctx, cmd["ticket_id"]), "start")


def request_info(ctx, cmd):
    """Ask the merchant a question; the SLA clock stops until the answer."""
    question = cmd["text"]
    ticket = _transition(ctx, _handled(ctx, cmd["ticket_id"]), "request_info", text=question, sla_paused_at=ctx.now)
    _record(ctx, ticket, "sla_paused", text=question)
    return ticket


def provide_info(ctx, cmd):
    """The answer: the clock runs again, the resolution deadline moved by the time it stood still."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"])
    access.require_merchant_or_handler(ctx.caller, ticket, "answer")
    if ticket["status"] != lc.WAITING_ON_MERCHANT:
        # Before the deadline is worked out: only a paused ticket has a pause to end.
        raise Conflict(f"{ticket['reference']} is not waiting for information: it is {ticket['status']}")
    settings = ctx.settings
    resumed_due = settings.sla.resumed_deadline(
        settings.calendar, ticket["sla_paused_at"], ticket["resolution_due_at"], ctx.now
    )
    ticket = _transition(
        ctx, ticket, "provide_info", text=cmd["text"], sla_paused_at=None, resolution_due_at=resumed_due
    )
    _record(ctx, ticket, "sla_resumed", data={"resolution_due_at": resumed_due.isoformat()})
    return ticket


def refer_ticket(ctx, cmd):
    """Refer the demand to a partner (转办): named in free text (``partner``), or as an organisation
    of the registry (``partner_id``) that can receive it — active, a partner, with a liaison; its
    liaisons are told (``ticket_referred``)."""
    ticket = _handled(ctx, cmd["ticket_id"])
    partner_id, note = cmd["partner_id"], cmd["note"]
    liaisons = []
    if partner_id is not None:
        organisation = storage.organisation(ctx.session, partner_id)
        if organisation is None:
            raise ValidationError("unknown partner", {"partner_id": [f"no partner organisation {partner_id!r}"]})
        if organisation["type"] not in routing.PARTNER_TYPES:
            raise ValidationError(
                "not a partner", {"partner_id": [f"{partner_id} is a {organisation['type']}, not a partner"]}
            )
        why = routing.partner_unavailable(partner_id, organisation)
        if why is not None:
            raise Conflict(f"{ticket['reference']} cannot be referred: {why}")
        partner, liaisons = organisation["name"], organisation["liaison_ids"]
    else:
        partner = cmd["partner"]
    text = f"转交{partner}：{note}" if note else f"转交{partner}"
    ticket = _transition(ctx, ticket, "refer", text=text, partner=partner, partner_id=partner_id)
    _publish(
        ctx,
        ticket,
        "ticket_referred",
        partner=partner,
        partner_id=partner_id,
        partner_liaison_ids=liaisons,
        note=note,
        referred_at=ctx.now,
    )
    return ticket


def record_partner_reply(ctx, cmd):
    reply = cmd["text"]
    return _transition(ctx, _handled(ctx, cmd["ticket_id"]), "record_partner_reply", text=reply, partner_reply=reply)


def resolve_ticket(ctx, cmd):
    """Resolved on time or not; a joint demand only once none of its tasks is still open."""
    ticket = _handled(ctx, cmd["ticket_id"])
    open_children = storage.open_children(ctx.session, ticket["id"])
    if open_children:
        raise Conflict(f"{ticket['reference']} has {open_children} open child task(s): resolve them first")
    resolution, on_time = cmd["resolution"], ctx.now <= ticket["resolution_due_at"]
    ticket = _transition(
        ctx, ticket, "resolve", text=resolution, resolution=resolution, resolved_at=ctx.now, resolved_on_time=on_time
    )
    _publish(ctx, ticket, "ticket_resolved", resolution=resolution, resolved_at=ctx.now, on_time=on_time)
    return ticket


def close_ticket(ctx, cmd):
    """The merchant confirms and rates; a rating of 2 or less reopens the case instead, and puts a
    follow-up call (回访) on its timeline."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"])
    access.require_merchant(ctx.caller, ticket)
    rating, comment = cmd["rating"], cmd["comment"]
    lc.next_state(ticket["status"], "close")  # a Conflict before anything is written
    rated = storage.update_ticket(ctx.session, ticket, rating=rating)
    _publish(ctx, rated, "feedback_received", rating=rating, comment=comment, received_at=ctx.now)
    if lc.rating_reopens(rating):
        ticket = _reopen(ctx, rated, f"满意度评分{rating}分：{comment or '不满意'}")
        _schedule_follow_up_call(ctx, ticket, rating, comment)
        return ticket
    ticket = _transition(ctx, rated, "close", text=comment, closed_at=ctx.now)
    _publish(ctx, ticket, "ticket_closed", rating=rating, closed_by=BY_MERCHANT, closed_at=ctx.now)
    _sample_follow_up_call(ctx, ticket)
    return ticket


def reject_ticket(ctx, cmd):
    return _transition(ctx, _handled(ctx, cmd["ticket_id"]), "reject", text=cmd["reason"])


def cancel_ticket(ctx, cmd):
    ticket = storage.ticket(ctx.session, cmd["ticket_id"])
    access.require_merchant(ctx.caller, ticket)
    return _transition(ctx, ticket, "cancel", text=cmd["reason"])


def reopen_ticket(ctx, cmd):
    """A dispute: the merchant, within seven days of the resolution (an administrator any time)."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"])
    caller = ctx.caller
    if not (access.is_merchant_of(caller, ticket) or caller.is_admin):
        raise Forbidden(f"only the merchant may dispute {ticket['reference']}")
    lc.next_state(ticket["status"], "reopen")
    if ticket["merged_into"] is not None:
        raise Conflict(f"{ticket['reference']} was merged into another demand: reopen that one")
    if not caller.is_admin and not lc.within_reopen_window(ticket["resolved_at"], ctx.now):
        raise Conflict(f"{ticket['reference']} was resolved more than {lc.REOPEN_WINDOW_DAYS} days ago")
    return _reopen(ctx, ticket, cmd["reason"])


def _reopen(ctx, ticket, reason):
    ticket = _transition(ctx, ticket, "reopen", text=reason, reopen_count=ticket["reopen_count"] + 1, closed_at=None)
    _publish(ctx, ticket, "ticket_reopened", reason=reason, reopen_count=ticket["reopen_count"], reopened_at=ctx.now)
    return ticket


def _schedule_follow_up_call(ctx, ticket, rating, comment):
    call = follow_up.follow_up_call(ctx.settings.calendar, ctx.now, rating)
    _owe_follow_up_call(ctx, ticket, follow_up.POOR_RATING, call, rating=rating, comment=comment)


def _sample_follow_up_call(ctx, ticket):
    """A closed demand the configured sample draws is called back too (``domain.follow_up``)."""
    if follow_up.drawn(ticket["id"], ctx.settings.follow_up_sample_share):
        call = follow_up.sampled_call(ctx.settings.calendar, ctx.now)
        _owe_follow_up_call(ctx, ticket, follow_up.SAMPLE, call, rating=ticket["rating"], comment=None)


def _owe_follow_up_call(ctx, ticket, reason, call, rating, comment):
    """A follow-up task for the district's branch secretary, due in working time, on the timeline
    and announced; nothing if the ticket owes a call already (that one is still to be made)."""
    call_by = storage.branch_secretary_of(ctx.session, ticket["district_id"])
    task = storage.insert_follow_up(
        ctx.session,
        {
            "ticket_id": ticket["id"],
            "reason": reason,
            "rating": rating,
            "call_by_id": call_by,
            "due_at": call.due_at,
            "scheduled_at": ctx.now,
        },
    )
    if task is None:
        return
    _record(
        ctx,
        ticket,
        "follow_up_call",
        text=call.note,
        visible=False,
        actor=access.SERVICE_ACTOR,
        # (the task's id and reason are in get_ticket's follow_ups and in the event)
        data={"rating": rating, "comment": comment, "call_by": call_by, "due_at": call.due_at.isoformat()},
    )
    _publish(
        ctx,
        ticket,
        "follow_up_call_scheduled",
        rating=rating,
        comment=comment,
        call_by_id=call_by,
        due_at=call.due_at,
        scheduled_at=ctx.now,
        follow_up_id=str(task["id"]),
        reason=reason,
    )


def record_follow_up(ctx, cmd):
    """The outcome of the ticket's follow-up call, by the person named to call or a handler of the
    ticket; once. It counts in the figures: "solved" is what the call found, not the ticket's state."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"], lock=False)
    task = storage.last_follow_up(ctx.session, ticket["id"])
    caller = ctx.caller
    if not (task is not None and caller.kind == "staff" and caller.subject == task["call_by_id"]):
        access.require_handler(caller, ticket)
    follow_up.require_owed(task, ticket["reference"])
    outcome, note = cmd["outcome"], cmd["note"]
    task = storage.record_follow_up(ctx.session, task["id"], outcome, note, caller.subject, ctx.now)
    text = follow_up.OUTCOME_NOTES[outcome] + (f"：{note}" if note else "")
    _record(
        ctx,
        ticket,
        "follow_up_recorded",
        text=text,
        visible=False,
        data={"follow_up_id": str(task["id"]), "outcome": outcome},
    )
    _publish(
        ctx,
        ticket,
        "follow_up_call_recorded",
        follow_up_id=str(task["id"]),
        reason=task["reason"],
        outcome=outcome,
        note=note,
        call_by_id=task["call_by_id"],
        recorded_by=caller.subject,
        recorded_at=ctx.now,
    )
    return task


# --- supervision (督办) -------------------------------------------------------------------------


def supervise_ticket(ctx, cmd):
    """A district leader puts an overdue or escalated demand under supervision, due by ``due_at``;
    the owner is told now and reminded in working time (``timers.remind_supervised``)."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"])
    supervision.require_supervisor(ctx.caller, ticket)
    settings = ctx.settings
    standing = deadlines.standing(ticket, settings.calendar, ctx.now, settings.due_soon_minutes)
    overdue = standing is not None and standing["state"] == "overdue"
    due_at = cmd["due_at"]
    supervision.require_supervisable(ticket, overdue, due_at, ctx.now)
    placed = storage.insert_supervision(
        ctx.session,
        {
            "ticket_id": ticket["id"],
            "supervisor_id": ctx.caller.subject,
            "reason": cmd["reason"],
            "placed_at": ctx.now,
            "due_at": due_at,
            "next_reminder_at": supervision.next_reminder(
                settings.calendar, ctx.now, settings.supervision_remind_every
            ),
        },
    )
    ticket = storage.update_ticket(ctx.session, ticket, supervision_due_at=due_at)
    local = due_at.astimezone(settings.calendar.timezone)
    _record(
        ctx,
        ticket,
        "supervised",
        text=f"督办：{cmd['reason']}（{local.month}月{local.day}日 {local:%H:%M}前办结）",
        visible=False,
        data={"supervision_id": str(placed["id"]), "due_at": due_at.isoformat()},
    )
    _publish(
        ctx,
        ticket,
        "ticket_supervised",
        supervision_id=str(placed["id"]),
        supervisor_id=placed["supervisor_id"],
        reason=placed["reason"],
        due_at=due_at,
        placed_at=ctx.now,
    )
    return {**ticket, "supervision": placed}


def remind_supervised(ctx, placed):
    """A supervised demand still in work: its owner is reminded, the next reminder set."""
    ticket = storage.ticket(ctx.session, placed["ticket_id"], lock=False)
    settings = ctx.settings
    next_at = supervision.next_reminder(settings.calendar, ctx.now, settings.supervision_remind_every)
    count = storage.mark_reminded(ctx.session, placed["id"], next_at)["reminders_sent"]
    overdue = placed["due_at"] <= ctx.now
    _record(
        ctx,
        ticket,
        "supervision_reminded",
        text=f"督办提醒（第{count}次）" + ("：已超过督办期限" if overdue else ""),
        visible=False,
        data={"supervision_id": str(placed["id"]), "reminder": count, "overdue": overdue},
    )
    _publish(
        ctx,
        ticket,
        "supervision_reminded",
        supervision_id=str(placed["id"]),
        supervisor_id=placed["supervisor_id"],
        due_at=placed["due_at"],
        overdue=overdue,
        reminder=count,
        reminded_at=ctx.now,
    )


def _lift_supervision(ctx, ticket, because, due_at):
    lifted = storage.lift_supervision(ctx.session, ticket["id"], ctx.now, because)
    if lifted is None:
        return
    _record(
        ctx,
        ticket,
        "supervision_lifted",
        text=f"督办解除：{because}",
        visible=False,
        actor=access.SERVICE_ACTOR,
        data={"supervision_id": str(lifted["id"]), "because": because},
    )
    _publish(
        ctx,
        ticket,
        "supervision_lifted",
        supervision_id=str(lifted["id"]),
        supervisor_id=lifted["supervisor_id"],
        lifted_because=because,
        on_time=ctx.now <= due_at,
        lifted_at=ctx.now,
    )


# --- duplicates --------------------------------------------------------------------------------


def merge_ticket(ctx, cmd):
    """A duplicate (``ticket_id``) merged into another demand of the same merchant (``into_id``):
    closed with ``merged_into`` naming the survivor, a line on both timelines (the merchant sees
    them), the merchant told. Both rows are locked in id order, so two merges never deadlock."""
    duplicate_id, survivor_id = str(cmd["ticket_id"]), str(cmd["into_id"])
    if duplicate_id == survivor_id:
        raise ValidationError("same ticket", {"into_id": ["a demand cannot be merged into itself"]})
    locked = {tid: storage.ticket(ctx.session, tid) for tid in sorted((duplicate_id, survivor_id))}
    duplicate, survivor = locked[duplicate_id], locked[survivor_id]
    access.require_handler(ctx.caller, duplicate)
    access.require_handler(ctx.caller, survivor)
    if duplicate["parent_id"] is not None or survivor["parent_id"] is not None:
        raise Conflict("a task of a joint demand is resolved or refused, not merged")
    if duplicate["merchant_id"] != survivor["merchant_id"]:
        raise Conflict(f"{duplicate['reference']} and {survivor['reference']} are demands of different merchants")
    if survivor["status"] in lc.FINAL:
        raise Conflict(f"{survivor['reference']} is {survivor['status']}: merge into a demand still open")
    if storage.open_children(ctx.session, duplicate["id"]):
        raise Conflict(f"{duplicate['reference']} has open child tasks: resolve or refuse them first")
    reason = cmd["reason"]
    text = f"与{survivor['reference']}为同一诉求，已合并办理" + (f"：{reason}" if reason else "")
    merged = _transition(ctx, duplicate, "merge", text=text, merged_into=survivor["id"], closed_at=ctx.now)
    _record(
        ctx,
        survivor,
        "merged",
        text=f"已合并重复诉求{duplicate['reference']}" + (f"：{reason}" if reason else ""),
        data={"merged": duplicate["reference"], "merged_id": str(duplicate["id"])},
    )
    _publish(
        ctx,
        merged,
        "ticket_merged",
        survivor_id=str(survivor["id"]),
        survivor_reference=survivor["reference"],
        reason=reason,
        merged_at=ctx.now,
    )
    return merged


# --- the custody log of assisted handling (帮办) -------------------------------------------------


def _custody_event(ctx, ticket, event_type, item, **payload):
    _publish(ctx, ticket, event_type, item_id=str(item["id"]), document=item["document"], **payload)


def receive_document(ctx, cmd):
    """A document the centre takes in to handle the merchant's matter: what, from whom, where kept."""
    ticket = _handled(ctx, cmd["ticket_id"])
    custody.require_may_receive(ticket)
    item = storage.insert_custody_item(
        ctx.session,
        {
            "ticket_id": ticket["id"],
            "merchant_id": ticket["merchant_id"],
            "document": cmd["document"],
            "received_from": cmd["received_from"],
            "received_at": ctx.now,
            "received_by": ctx.caller.subject,
            "location": cmd["location"],
        },
    )
    _record(
        ctx,
        ticket,
        "document_received",
        text=f"代管材料：{item['document']}（交件人：{item['received_from']}）",
        data={"item_id": str(item["id"]), "location": item["location"]},
    )
    _custody_event(
        ctx,
        ticket,
        "document_received",
        item,
        received_from=item["received_from"],
        location=item["location"],
        received_at=ctx.now,
    )
    return item


def _held_item(ctx, item_id):
    """The item and its ticket, if the caller handles the ticket (whatever its state)."""
    item = storage.custody_item(ctx.session, item_id)
    ticket = storage.ticket(ctx.session, item["ticket_id"], lock=False)
    return item, ticket


def move_document(ctx, cmd):
    item, ticket = _held_item(ctx, cmd["item_id"])
    access.require_handler(ctx.caller, ticket)
    custody.require_held(item)
    moved = storage.update_custody_item(ctx.session, item["id"], location=cmd["location"], moved_at=ctx.now)
    _record(
        ctx,
        ticket,
        "document_moved",
        text=f"材料{item['document']}移至{cmd['location']}",
        visible=False,
        data={"item_id": str(item["id"]), "from": item["location"], "to": cmd["location"]},
    )
    return moved


def return_document(ctx, cmd):
    """Handed back (when, to whom); the merchant is asked to confirm it."""
    item, ticket = _held_item(ctx, cmd["item_id"])
    access.require_handler(ctx.caller, ticket)
    custody.require_held(item)
    returned = storage.update_custody_item(
        ctx.session, item["id"], returned_at=ctx.now, returned_to=cmd["returned_to"], returned_by=ctx.caller.subject
    )
    _record(
        ctx,
        ticket,
        "document_returned",
        text=f"材料{item['document']}已交还{cmd['returned_to']}，请确认",
        data={"item_id": str(item["id"])},
    )
    _custody_event(ctx, ticket, "document_returned", item, returned_to=cmd["returned_to"], returned_at=ctx.now)
    return returned


def confirm_document_return(ctx, cmd):
    """The merchant confirms it has the document back."""
    item, ticket = _held_item(ctx, cmd["item_id"])
    access.require_merchant(ctx.caller, ticket)
    custody.require_returned(item)
    confirmed = storage.update_custody_item(
        ctx.session, item["id"], confirmed_at=ctx.now, confirmed_by=ctx.caller.subject
    )
    _record(
        ctx,
        ticket,
        "document_return_confirmed",
        text=f"商户确认已收回材料{item['document']}",
        data={"item_id": str(item["id"])},
    )
    _custody_event(
        ctx, ticket, "document_return_confirmed", item, confirmed_by=ctx.caller.subject, confirmed_at=ctx.now
    )
    return confirmed


def add_note(ctx, cmd):
    """A note on the timeline: a handler's is internal unless marked visible; a merchant's is always
    the merchant's own words, visible to it."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"])
    if ticket["status"] in lc.FINAL:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: no more notes")
    visible = cmd["visible_to_merchant"]
    if access.is_merchant_of(ctx.caller, ticket):
        visible = True
    else:
        access.require_handler(ctx.caller, ticket)
    _record(ctx, ticket, "note", text=cmd["text"], visible=visible)
    return ticket


def tick_checklist_item(ctx, cmd):
    ticket = _handled(ctx, cmd["ticket_id"])
    if ticket["status"] not in lc.OPEN:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: its checklist is closed")
    items, item = tick(ticket["checklist"], cmd["item_id"], cmd["done"], ticket["reference"])
    ticket = storage.update_ticket(ctx.session, ticket, checklist=items)
    _record(ctx, ticket, "checklist", text=item, data={"done": cmd["done"]})
    return ticket


# --- joint handling across districts ---------------------------------------------------------


def add_child_task(ctx, cmd):
    """A task of a joint demand (联办) for another district or a team: a ticket of its own, for the
    same merchant; the parent cannot be resolved while a task is open."""
    parent = _handled(ctx, cmd["parent_id"])
    if parent["status"] not in lc.OPEN:
        raise Conflict(f"{parent['reference']} is {parent['status']}: no new tasks")
    if parent["parent_id"] is not None:
        raise Conflict(f"{parent['reference']} is itself a task: tasks do not nest")
    child = _submit(
        ctx,
        {**cmd, "merchant_id": parent["merchant_id"], "category": cmd.get("category") or parent["category"]},
        parent=parent,
        unit=cmd["unit"],
    )
    _record(ctx, parent, "child_task", text=cmd["title"], data={"child": child["reference"], "unit": cmd["unit"]})
    return child


def refuse_task(ctx, cmd):
    """The unit a task went to refuses it, with its reason; the parent's owner is told."""
    ticket = _handled(ctx, cmd["ticket_id"])
    if ticket["parent_id"] is None:
        raise Conflict(f"{ticket['reference']} is not a task of a joint demand; reject it instead")
    reason = cmd["reason"]
    parent = storage.ticket(ctx.session, ticket["parent_id"], lock=False)
    ticket = _transition(ctx, ticket, "reject", text=reason, visible=False, refusal_reason=reason)
    _record(ctx, parent, "task_refused", text=reason, visible=False, data={"child": ticket["reference"]})
    _publish(
        ctx,
        ticket,
        "task_refused",
        parent_reference=parent["reference"],
        parent_responsible_id=parent["responsible_id"],
        unit=ticket["unit"] or ticket["district_id"],
        refused_by=ctx.caller.subject,
        reason=reason,
        refused_at=ctx.now,
    )
    return ticket


# --- what time does (called by timers.py) ----------------------------------------------------


def announce_deadline(ctx, ticket, notice):
    """A deadline near or passed (``domain.deadlines.Notice``)."""
    _publish(ctx, ticket, notice.event_type, target=notice.target, due_at=notice.due_at)


def escalate(ctx, ticket, escalation, due_at):
    """An overdue ticket goes up a level (``domain.deadlines.Escalation``): the district's branch
    secretary, then the alliance."""
    secretary = storage.branch_secretary_of(ctx.session, ticket["district_id"]) if escalation.level == 1 else None
    _record(ctx, ticket, "escalated", text=escalation.note, visible=False, data={"level": escalation.level})
    _publish(
        ctx,
        ticket,
        "ticket_escalated",
        level=escalation.level,
        escalated_to=escalation.to,
        escalated_to_id=secretary,
        due_at=due_at,
    )


def close_unconfirmed(ctx, ticket):
    """A resolution nobody confirmed or disputed for ``AUTO_CLOSE_DAYS`` closes itself."""
    ticket = _transition(ctx, ticket, "close", text=f"{lc.AUTO_CLOSE_DAYS}天内未确认，自动办结", closed_at=ctx.now)
    _publish(ctx, ticket, "ticket_closed", rating=None, closed_by=BY_TIME, closed_at=ctx.now)
    _sample_follow_up_call(ctx, ticket)
    return ticket


# --- the registry's facts, kept as this service's own read model (event handlers) -----------
# Routing and reading a ticket use them without an RPC to the registry.


def merchant_registered(ctx, fact):
    storage.upsert_merchant(ctx.session, {**fact, "version": 1})


def merchant_updated(ctx, fact):
    storage.upsert_merchant(ctx.session, fact)


def merchant_status_changed(ctx, fact):
    storage.set_merchant_status(ctx.session, fact)


def organisation_changed(ctx, fact):
    """Any of the registry's organisation_* events: each carries the whole organisation."""
    storage.upsert_organisation(ctx.session, fact)


def person_changed(ctx, fact):
    storage.upsert_person(ctx.session, fact)


def pairing_started(ctx, fact):
    storage.start_pairing(ctx.session, fact)


def pairing_ended(ctx, fact):
    storage.end_pairing(ctx.session, fact)


# --- whether the people a ticket's events concern were reached (event handlers) --------------


def notification_delivered(ctx, outcome):
    _notification_outcome(ctx, outcome, delivered=True)


def notification_failed(ctx, outcome):
    _notification_outcome(ctx, outcome, delivered=False)


def _notification_outcome(ctx, outcome, delivered):
    """Put on a ticket's timeline (for staff) whether the people its events were sent to were
    reached: the owner sees that the merchant got the SMS, or that it failed and a call is needed.
    Only the outcomes of this service's own events concern it; the outbox still knows which ticket
    each event announced (deliveries end within minutes, the outbox keeps rows for days)."""
    if not outcome["source"].startswith("tickets."):
        return
    ticket_id = storage.announced_ticket(ctx.session, outcome["event_id"])
    if ticket_id is None:
        return
    recipient = outcome["recipient"].split(":", 1)[0]
    channel = outcome["channel"]
    text = f"已通过{channel}通知{recipient}" if delivered else f"通过{channel}通知{recipient}失败：{outcome['error']}"
    storage.add_timeline(
        ctx.session,
        ticket_id,
        outcome["sent_at"] if delivered else outcome["failed_at"],
        "system:notifications",
        "notified" if delivered else "notification_failed",
        visible=False,
        text=text,
        data={k: outcome[k] for k in ("delivery_id", "channel", "recipient", "source", "attempts")},
    )
