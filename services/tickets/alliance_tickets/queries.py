"""Reading the demand list: one ticket, its timeline, lists and the figures units are ranked by.

Each read is ``read(ctx, cmd)`` and returns rows for a result schema of ``schemas.py``. A caller
reads only what ``domain.access`` lets it see: a merchant its own tickets, without their internals
(routing, checklist, internal notes); handlers their districts' and their own cases.
"""

from alliance_platform.paging import decode_cursor, page

from . import storage
from .domain import access, deadlines, ranking
from .domain import lifecycle as lc


def get_ticket(ctx, cmd):
    """The ticket by id or reference, and whether the caller sees its handling side too
    (``sees_internals``: ``schemas.TicketView`` shows a merchant less)."""
    session, caller = ctx.session, ctx.caller
    if cmd["reference"] is not None:
        ticket = storage.ticket_by_reference(session, cmd["reference"])
    else:
        ticket = storage.ticket(session, cmd["ticket_id"], lock=False)
    access.require_view(caller, ticket)
    owner = None
    if ticket["responsible_id"]:
        # An owner the registry has not told this service of yet: known by id only.
        owner = storage.person(session, ticket["responsible_id"]) or {
            "person_id": ticket["responsible_id"],
            "name": None,
        }
    paused_because = None
    if ticket["status"] == lc.WAITING_ON_MERCHANT:
        paused_because = storage.pause_reason(session, ticket["id"])
    internal = access.sees_internals(caller, ticket)
    view = {**ticket, "responsible": owner, "paused_because": paused_because, "sees_internals": internal}
    if ticket["partner_id"] is not None:
        # A partner of the registry shows its current name (renamed since: the new one).
        view["partner"] = storage.organisation_names(session, [ticket["partner_id"]]).get(
            ticket["partner_id"], ticket["partner"]
        )
    view["standing"] = _standing(ctx, ticket)
    view["documents"] = storage.custody_log(session, ticket["id"])
    if internal:
        view["children"] = storage.children(session, ticket["id"])
        view["follow_ups"] = storage.follow_ups(session, ticket["id"])
        view["supervisions"] = storage.supervisions(session, ticket["id"])
    return view


def list_documents(ctx, cmd):
    """The ticket's custody log (帮办), oldest first: kept, and shown, after the ticket closes."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"], lock=False)
    access.require_view(ctx.caller, ticket)
    return storage.custody_log(ctx.session, ticket["id"])


def timeline(ctx, cmd):
    """What happened to the ticket, oldest first; a merchant sees only what is meant for it."""
    ticket = storage.ticket(ctx.session, cmd["ticket_id"], lock=False)
    access.require_view(ctx.caller, ticket)
    return storage.timeline(ctx.session, ticket["id"], merchant_only=not access.sees_internals(ctx.caller, ticket))


def list_tickets(ctx, cmd):
    """The caller's tickets, newest first, keyset-paged, filtered by what ``cmd`` names."""
    filters = {
        column: str(cmd[column])
        for column in ("merchant_id", "status", "category", "assignee_id", "district_id")
        if cmd.get(column) is not None
    }
    key = decode_cursor(cmd.get("cursor"), 2)
    rows = storage.list_tickets(
        ctx.session,
        access.scope_of(ctx.caller),
        filters,
        cmd["limit"] + 1,
        after=key,
        overdue_at=ctx.now if cmd.get("overdue") else None,
        submitted=(cmd.get("submitted_from"), cmd.get("submitted_until")),
    )
    rows = [{**row, "standing": _standing(ctx, row)} for row in rows]
    return page(rows, cmd["limit"], key=lambda r: (r["submitted_at"].isoformat(), str(r["id"])))


def _standing(ctx, ticket):
    settings = ctx.settings
    return deadlines.standing(ticket, settings.calendar, ctx.now, settings.due_soon_minutes)


def stats(ctx, cmd):
    """Per category, district, responsible person and unit, for tickets submitted in the period."""
    found = storage.figures(ctx.session, access.scope_of(ctx.caller), cmd["since"], cmd["until"], ctx.now)
    return {
        "since": cmd["since"],
        "until": cmd["until"],
        "total": found["total"],
        **{dimension: {str(row["key"]): row for row in found[dimension]} for dimension in storage.FIGURE_DIMENSIONS},
    }


def rank_units(ctx, cmd):
    """The units ranked by their figures (``domain.ranking``), for tickets submitted in the period."""
    found = storage.figures(
        ctx.session, access.scope_of(ctx.caller), cmd["since"], cmd["until"], ctx.now, dimensions=("by_unit",)
    )
    weights = ctx.settings.ranking_weights
    units = {str(row["key"]): row for row in found["by_unit"]}
    return {
        "since": cmd["since"],
        "until": cmd["until"],
        "weights": {part: getattr(weights, part) for part in ranking.PARTS},
        "units": ranking.rank(units, weights),
    }
