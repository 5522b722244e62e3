"""The tickets service's nameko class: its name, dependencies and entrypoints. Each entrypoint
calls one use case (``use_cases``, ``queries``, ``timers``) with the call's context; the rpc
entrypoint dumps what it returns through the method's result schema. The event handlers only hand
an event to a use case, so they are made from ``SUBSCRIPTIONS``."""

from alliance_platform.entrypoints import event_handler, rpc, timer
from alliance_platform.inputs import Period
from alliance_platform.service import AllianceService

from . import queries, schemas, timers, use_cases
from .domain.access import HANDLER_ROLES
from .domain.supervision import SUPERVISOR_ROLES
from .settings import SettingsProvider

# The events this service keeps up with, each handed to one use case by a handler named
# handle_<source>_<event_type> (its queue is evt-<source>-<event_type>--tickets.<handler>).
SUBSCRIPTIONS = {
    # The registry's facts, kept as this service's own read model.
    ("registry", "merchant_registered"): use_cases.merchant_registered,
    ("registry", "merchant_updated"): use_cases.merchant_updated,
    ("registry", "merchant_status_changed"): use_cases.merchant_status_changed,
    ("registry", "person_registered"): use_cases.person_changed,
    ("registry", "person_updated"): use_cases.person_changed,
    ("registry", "pairing_started"): use_cases.pairing_started,
    ("registry", "pairing_ended"): use_cases.pairing_ended,
    ("registry", "organisation_added"): use_cases.organisation_changed,
    ("registry", "organisation_renamed"): use_cases.organisation_changed,
    ("registry", "organisation_moved"): use_cases.organisation_changed,
    ("registry", "organisation_retired"): use_cases.organisation_changed,
    ("registry", "organisation_liaisons_changed"): use_cases.organisation_changed,
    # Whether the people the tickets' events concern were reached.
    ("notifications", "notification_delivered"): use_cases.notification_delivered,
    ("notifications", "notification_failed"): use_cases.notification_failed,
}


def _forwarding(source, event_type, use_case):
    def handler(self, event):
        use_case(self.ctx(), event.payload)

    handler.__name__ = handler.__qualname__ = f"handle_{source}_{event_type}"
    handler.__doc__ = f"{source}.{event_type} -> use_cases.{use_case.__name__}"
    return event_handler(source, event_type)(handler)


def subscribed(cls):
    """Add a forwarding handler to ``cls`` for each of ``SUBSCRIPTIONS``."""
    for (source, event_type), use_case in SUBSCRIPTIONS.items():
        handler = _forwarding(source, event_type, use_case)
        setattr(cls, handler.__name__, handler)
    return cls


@subscribed
class TicketsService(AllianceService):
    """The merchants' demand list (需求清单): routing by assistance style, an owner by acceptance
    (首接负责制), SLA deadlines in working time with escalation, joint handling across districts, a
    timeline the merchant can follow, and the figures units are ranked by."""

    name = "tickets"

    settings = SettingsProvider()

    # --- a demand's life --------------------------------------------------------------------

    @rpc(schema=schemas.SubmitTicket, result=schemas.TicketState, route="POST /tickets")
    def submit_ticket(self, cmd):
        return use_cases.submit_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.TicketRef,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/accept",
    )
    def accept_ticket(self, cmd):
        return use_cases.accept_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.AssignTicket,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/assign",
    )
    def assign_ticket(self, cmd):
        return use_cases.assign_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.TicketRef,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/start",
    )
    def start_ticket(self, cmd):
        return use_cases.start_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.WithText,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/request-info",
    )
    def request_info(self, cmd):
        return use_cases.request_info(self.ctx(), cmd)

    @rpc(schema=schemas.WithText, result=schemas.TicketState, route="POST /tickets/{ticket_id}/provide-info")
    def provide_info(self, cmd):
        return use_cases.provide_info(self.ctx(), cmd)

    @rpc(
        schema=schemas.ReferTicket,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/refer",
    )
    def refer_ticket(self, cmd):
        return use_cases.refer_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.WithText,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/partner-reply",
    )
    def record_partner_reply(self, cmd):
        return use_cases.record_partner_reply(self.ctx(), cmd)

    @rpc(
        schema=schemas.ResolveTicket,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/resolve",
    )
    def resolve_ticket(self, cmd):
        return use_cases.resolve_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.CloseTicket,
        result=schemas.TicketState,
        allow=("merchant",),
        route="POST /tickets/{ticket_id}/close",
    )
    def close_ticket(self, cmd):
        return use_cases.close_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.WithReason,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/reject",
    )
    def reject_ticket(self, cmd):
        return use_cases.reject_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.OptionalReason,
        result=schemas.TicketState,
        allow=("merchant",),
        route="POST /tickets/{ticket_id}/cancel",
    )
    def cancel_ticket(self, cmd):
        return use_cases.cancel_ticket(self.ctx(), cmd)

    @rpc(schema=schemas.WithReason, result=schemas.TicketState, route="POST /tickets/{ticket_id}/reopen")
    def reopen_ticket(self, cmd):
        return use_cases.reopen_ticket(self.ctx(), cmd)

    @rpc(schema=schemas.AddNote, result=schemas.TicketState, route="POST /tickets/{ticket_id}/notes")
    def add_note(self, cmd):
        return use_cases.add_note(self.ctx(), cmd)

    @rpc(
        schema=schemas.TickChecklistItem,
        result=schemas.TicketChecklist,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/checklist/{item_id}",
    )
    def tick_checklist_item(self, cmd):
        return use_cases.tick_checklist_item(self.ctx(), cmd)

    @rpc(
        schema=schemas.AddChildTask,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{parent_id}/tasks",
    )
    def add_child_task(self, cmd):
        return use_cases.add_child_task(self.ctx(), cmd)

    @rpc(
        schema=schemas.WithReason,
        result=schemas.TicketState,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/refuse",
    )
    def refuse_task(self, cmd):
        return use_cases.refuse_task(self.ctx(), cmd)

    # --- the follow-up practice: calls back, supervision, duplicates, custody ------------------

    @rpc(
        schema=schemas.RecordFollowUp,
        result=schemas.FollowUp,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/follow-up",
    )
    def record_follow_up(self, cmd):
        return use_cases.record_follow_up(self.ctx(), cmd)

    @rpc(
        schema=schemas.SuperviseTicket,
        result=schemas.SupervisedTicket,
        allow=SUPERVISOR_ROLES,
        route="POST /tickets/{ticket_id}/supervise",
    )
    def supervise_ticket(self, cmd):
        return use_cases.supervise_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.MergeTicket,
        result=schemas.MergedTicket,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/merge",
    )
    def merge_ticket(self, cmd):
        return use_cases.merge_ticket(self.ctx(), cmd)

    @rpc(
        schema=schemas.ReceiveDocument,
        result=schemas.CustodyItem,
        allow=HANDLER_ROLES,
        route="POST /tickets/{ticket_id}/documents",
    )
    def receive_document(self, cmd):
        return use_cases.receive_document(self.ctx(), cmd)

    @rpc(
        schema=schemas.MoveDocument,
        result=schemas.CustodyItem,
        allow=HANDLER_ROLES,
        route="POST /documents/{item_id}/move",
    )
    def move_document(self, cmd):
        return use_cases.move_document(self.ctx(), cmd)

    @rpc(
        schema=schemas.ReturnDocument,
        result=schemas.CustodyItem,
        allow=HANDLER_ROLES,
        route="POST /documents/{item_id}/return",
    )
    def return_document(self, cmd):
        return use_cases.return_document(self.ctx(), cmd)

    @rpc(
        schema=schemas.DocumentRef,
        result=schemas.CustodyItem,
        allow=("merchant",),
        route="POST /documents/{item_id}/confirm-return",
    )
    def confirm_document_return(self, cmd):
        return use_cases.confirm_document_return(self.ctx(), cmd)

    # --- reading ----------------------------------------------------------------------------

    @rpc(
        schema=schemas.FindTicket,
        result=schemas.TicketView,
        read_only=True,
        route=("GET /tickets/{ticket_id}", "GET /ticket-references/{reference}"),
    )
    def get_ticket(self, cmd):
        return queries.get_ticket(self.ctx(), cmd)

    @rpc(schema=schemas.ListTickets, result=schemas.TicketPage, read_only=True, route="GET /tickets")
    def list_tickets(self, cmd):
        return queries.list_tickets(self.ctx(), cmd)

    @rpc(
        schema=schemas.TicketRef,
        result=schemas.TimelineEntry(many=True),
        read_only=True,
        route="GET /tickets/{ticket_id}/timeline",
    )
    def timeline(self, cmd):
        return queries.timeline(self.ctx(), cmd)

    @rpc(
        schema=schemas.TicketRef,
        result=schemas.CustodyItem(many=True),
        read_only=True,
        route="GET /tickets/{ticket_id}/documents",
    )
    def list_documents(self, cmd):
        return queries.list_documents(self.ctx(), cmd)

    @rpc(schema=Period, result=schemas.Stats, allow=HANDLER_ROLES, read_only=True, route="GET /stats/tickets")
    def stats(self, cmd):
        return queries.stats(self.ctx(), cmd)

    @rpc(
        schema=schemas.RankUnits,
        result=schemas.UnitRanking,
        allow=HANDLER_ROLES,
        read_only=True,
        route="GET /stats/tickets/units",
    )
    def rank_units(self, cmd):
        return queries.rank_units(self.ctx(), cmd)

    # --- time passing -----------------------------------------------------------------------

    @timer(interval="SLA_SWEEP_INTERVAL")
    def sweep_deadlines(self):
        return timers.sweep_deadlines(self.ctx())

    @timer(interval="SUPERVISION_SWEEP_INTERVAL")
    def remind_supervised(self):
        return timers.remind_supervised(self.ctx())
