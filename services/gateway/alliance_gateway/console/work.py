"""My work: the demands proposed to me, my team's and my district's, each marked by how much working
time is left before its deadline (the tickets service's count, in the centre's calendar); a
demand's page (timeline, checklist, notes, child tasks) and its actions, each a POST form that
comes back to the page with a message."""

from datetime import datetime

from werkzeug.wrappers import Response

from alliance_contracts.registry import PARTNER_ORGANISATION_TYPES
from alliance_contracts.tickets import STATUSES  # the filter's choices: the demand list's states
from alliance_platform.errors import Conflict, NotFound, ValidationError

from . import i18n, rendering
from .web import PREFIX, field_errors, page

QUEUES = ("mine", "team", "district")
PAGE_SIZE = 50

# action in the URL -> (tickets method, {form field: "text" | "optional" | "bool"})
ACTIONS = {
    "accept": ("accept_ticket", {}),
    "start": ("start_ticket", {}),
    "request-info": ("request_info", {"text": "text"}),
    "refer": ("refer_ticket", {"partner_id": "optional", "partner": "optional", "note": "optional"}),
    "partner-reply": ("record_partner_reply", {"text": "text"}),
    "resolve": ("resolve_ticket", {"resolution": "text"}),
    "notes": ("add_note", {"text": "text", "visible_to_merchant": "bool"}),
    "tasks": ("add_child_task", {"unit": "text", "title": "text", "description": "text"}),
    "refuse": ("refuse_task", {"reason": "text"}),
    "assign": ("assign_ticket", {"assignee_id": "text", "reason": "text"}),
    "reject": ("reject_ticket", {"reason": "text"}),
}


def deadline(ticket):
    """(the deadline that counts now, working seconds left (negative: overdue), urgency) of a
    ticket, as the tickets service counts them in the centre's working time (its ``standing``):
    urgency one of overdue, due_soon, on_time, paused, none."""
    standing = ticket.get("standing")
    if not standing:
        return None, None, "none"
    return datetime.fromisoformat(standing["due_at"]), standing["working_minutes_left"] * 60, standing["state"]


def _marked(tickets):
    marked = []
    for ticket in tickets:
        due, left, urgency = deadline(ticket)
        marked.append({**ticket, "due": due, "left": left, "urgency": urgency})
    return marked


def _my_teams(visit):
    try:
        return set(visit.call("registry", "get_person", person_id=visit.person_id).get("teams") or [])
    except (NotFound, ValidationError):  # a token whose subject the registry does not know
        return set()


@page("GET", "")
def my_work(visit):
    args = visit.request.args
    queue = args.get("queue") if args.get("queue") in QUEUES else "mine"
    query = {"limit": PAGE_SIZE}
    status = args.get("status") or None
    if status:
        query["status"] = status
    if args.get("overdue") == "1":
        query["overdue"] = True
    if args.get("cursor"):
        query["cursor"] = args["cursor"]
    district = args.get("district") or None
    if district:
        query["district_id"] = district
    teams = None
    if queue == "mine":
        query["assignee_id"] = visit.person_id
    found = visit.call("tickets", "list_tickets", **query)
    items = found["items"]
    if queue == "team":  # list_tickets has no team filter: this page's demands of my teams
        teams = _my_teams(visit)
        items = [t for t in items if t.get("team") in teams]
    return visit.render(
        "work.html",
        section="work",
        queue=queue,
        queues=QUEUES,
        statuses=STATUSES,
        status=status,
        overdue=args.get("overdue") == "1",
        district=district,
        teams=sorted(teams or []),
        tickets=_marked(items),
        next_cursor=found.get("next_cursor"),
    )


def _partners(visit):
    """The organisations a demand can be referred to by id, for the refer form: the registry's
    active partners with a liaison (who is told), as (id, "name (short name)")."""
    found = visit.call("registry", "list_organisations")
    return [
        (o["organisation_id"], f"{o['name']}（{o['short_name']}）" if o["short_name"] != o["name"] else o["name"])
        for o in sorted(found, key=lambda o: (o["type"], o["organisation_id"]))
        if o["type"] in PARTNER_ORGANISATION_TYPES and o["status"] == "active" and o["liaison_ids"]
    ]


def _ticket_page(visit, ticket_id, status=200, errors=None, values=None, failed=None):
    ticket = visit.call("tickets", "get_ticket", ticket_id=str(ticket_id))
    timeline = visit.call("tickets", "timeline", ticket_id=str(ticket_id))
    due, left, urgency = deadline(ticket)
    return visit.render(
        "ticket.html",
        status=status,
        section="work",
        ticket=ticket,
        timeline=list(reversed(timeline)),
        due=due,
        left=left,
        urgency=urgency,
        errors=errors or {},
        values=values or {},
        failed=failed,
        partners=_partners(visit) if ticket["status"] == "in_progress" else [],
    )


@page("GET", "/tickets/<uuid:ticket_id>")
def ticket_page(visit, ticket_id):
    return _ticket_page(visit, ticket_id)


def _arguments(form, fields):
    kwargs = {}
    for name, kind in fields.items():
        if kind == "bool":
            kwargs[name] = form.get(name) in ("1", "on", "true")
        elif kind == "optional":
            if form.get(name, "").strip():
                kwargs[name] = form[name].strip()
        else:
            kwargs[name] = form.get(name, "").strip()
    return kwargs


@page("POST", "/tickets/<uuid:ticket_id>/<action>")
def ticket_action(visit, ticket_id, action):
    if action not in ACTIONS:
        raise NotFound(f"no action {action}")
    method, fields = ACTIONS[action]
    kwargs = _arguments(visit.form, fields)
    kwargs["parent_id" if action == "tasks" else "ticket_id"] = str(ticket_id)
    back = f"{PREFIX}/tickets/{ticket_id}"
    try:
        visit.call("tickets", method, **kwargs)
    except ValidationError as exc:
        values = {name: visit.form.get(name, "") for name in fields}
        return _ticket_page(visit, ticket_id, 400, field_errors(visit.lang, exc), values, action)
    except Conflict as exc:
        return visit.redirect(back, "error", i18n.service_message(visit.lang, exc))
    return visit.redirect(back, "ok", visit.t(f"done.{action}"))


@page("POST", "/tickets/<uuid:ticket_id>/checklist/<int:item_id>")
def tick(visit, ticket_id, item_id):
    done = visit.form.get("done") == "1"
    back = f"{PREFIX}/tickets/{ticket_id}"
    try:
        answer = visit.call("tickets", "tick_checklist_item", ticket_id=str(ticket_id), item_id=item_id, done=done)
    except (Conflict, ValidationError) as exc:  # back to the page (htmx: HX-Redirect), the message on it
        return visit.redirect(back, "error", i18n.service_message(visit.lang, exc.message))
    if visit.htmx:
        item = next(i for i in answer["checklist"] if i["id"] == item_id)
        body = rendering.render("checklist_item.html", visit.lang, visit=visit, ticket=answer, item=item)
        return visit.finish(Response(body, status=200, headers={"Content-Type": "text/html; charset=utf-8"}))
    return visit.redirect(back, "ok", visit.t("done.checklist"))
