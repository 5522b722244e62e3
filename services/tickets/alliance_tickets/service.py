from alliance_platform.entrypoints import event_handler, rpc, timer
from alliance_platform.inputs import Period
from alliance_platform.service import AllianceService

from . import desk as uc
from . import queries, read_model, schemas
from .desk import Desk
from .settings import SettingsProvider
from .sweep import sweep

STAFF = ("admin", "staff", "branch_secretary", "department_liaison", "volunteer", "system")


def _out(ticket):
    """The answer of a change: where the ticket stands now."""
    return {
        "ticket_id": str(ticket["id"]),
        "reference": ticket["reference"],
        "status": ticket["status"],
        "responsible_id": ticket["responsible_id"],
        "resolution_due_at": ticket["resolution_due_at"].isoformat(),
    }


class TicketsService(AllianceService):
    """The merchants' demand list (需求清单): routing by assistance style, an owner by acceptance
    (首接负责制), SLA deadlines in working time with escalation, joint handling across districts, a
    timeline the merchant can follow, and the figures units are ranked by."""

    name = "tickets"

    settings = SettingsProvider()

    def _desk(self):
        return Desk(self.db, self.call.identity, self.clock.now(), self.settings)

    # --- a demand's life --------------------------------------------------------------------

    @rpc(schema=schemas.SubmitTicket)
    def submit_ticket(self, cmd):
        return _out(uc.submit(self._desk(), cmd))

    @rpc(schema=schemas.TicketRef, allow=STAFF)
    def accept_ticket(self, cmd):
        return _out(uc.accept(self._desk(), cmd["ticket_id"]))

    @rpc(schema=schemas.AssignTicket, allow=STAFF)
    def assign_ticket(self, cmd):
        return _out(uc.assign(self._desk(), cmd["ticket_id"], cmd["assignee_id"], cmd["reason"]))

    @rpc(schema=schemas.TicketRef, allow=STAFF)
    def start_ticket(self, cmd):
        return _out(uc.start(self._desk(), cmd["ticket_id"]))

    @rpc(schema=schemas.WithText, allow=STAFF)
    def request_info(self, cmd):
        return _out(uc.request_info(self._desk(), cmd["ticket_id"], cmd["text"]))

    @rpc(schema=schemas.WithText)
    def provide_info(self, cmd):
        return _out(uc.provide_info(self._desk(), cmd["ticket_id"], cmd["text"]))

    @rpc(schema=schemas.ReferTicket, allow=STAFF)
    def refer_ticket(self, cmd):
        return _out(uc.refer(self._desk(), cmd["ticket_id"], cmd["partner"], cmd["note"]))

    @rpc(schema=schemas.WithText, allow=STAFF)
    def record_partner_reply(self, cmd):
        return _out(uc.record_partner_reply(self._desk(), cmd["ticket_id"], cmd["text"]))

    @rpc(schema=schemas.ResolveTicket, allow=STAFF)
    def resolve_ticket(self, cmd):
        return _out(uc.resolve(self._desk(), cmd["ticket_id"], cmd["resolution"]))

    @rpc(schema=schemas.CloseTicket, allow=("merchant",))
    def close_ticket(self, cmd):
        return _out(uc.close(self._desk(), cmd["ticket_id"], cmd["rating"], cmd["comment"]))

    @rpc(schema=schemas.WithReason, allow=STAFF)
    def reject_ticket(self, cmd):
        return _out(uc.reject(self._desk(), cmd["ticket_id"], cmd["reason"]))

    @rpc(schema=schemas.OptionalReason, allow=("merchant",))
    def cancel_ticket(self, cmd):
        return _out(uc.cancel(self._desk(), cmd["ticket_id"], cmd["reason"]))

    @rpc(schema=schemas.WithReason)
    def reopen_ticket(self, cmd):
        return _out(uc.reopen(self._desk(), cmd["ticket_id"], cmd["reason"]))

    @rpc(schema=schemas.AddNote)
    def add_note(self, cmd):
        return _out(uc.add_note(self._desk(), cmd["ticket_id"], cmd["text"], cmd["visible_to_merchant"]))

    @rpc(schema=schemas.TickChecklistItem, allow=STAFF)
    def tick_checklist_item(self, cmd):
        ticket = uc.tick_checklist_item(self._desk(), cmd["ticket_id"], cmd["item_id"], cmd["done"])
        return {**_out(ticket), "checklist": ticket["checklist"]}

    @rpc(schema=schemas.AddChildTask, allow=STAFF)
    def add_child_task(self, cmd):
        return _out(uc.add_child_task(self._desk(), cmd["parent_id"], cmd))

    @rpc(schema=schemas.WithReason, allow=STAFF)
    def refuse_task(self, cmd):
        return _out(uc.refuse_task(self._desk(), cmd["ticket_id"], cmd["reason"]))

    # --- reading ----------------------------------------------------------------------------

    @rpc(schema=schemas.FindTicket, read_only=True)
    def get_ticket(self, cmd):
        return queries.get(self._desk(), cmd["ticket_id"], cmd["reference"])

    @rpc(schema=schemas.ListTickets, read_only=True)
    def list_tickets(self, cmd):
        return queries.list_tickets(self._desk(), cmd)

    @rpc(schema=schemas.TicketRef, read_only=True)
    def timeline(self, cmd):
        return queries.timeline(self._desk(), cmd["ticket_id"])

    @rpc(schema=Period, allow=STAFF, read_only=True)
    def stats(self, cmd):
        return queries.stats(self._desk(), cmd)

    # --- time passing -----------------------------------------------------------------------

    @timer(interval="SLA_SWEEP_INTERVAL")
    def sweep_deadlines(self):
        return sweep(self.db, self.settings, self.clock.now())

    # --- the registry's facts, kept as this service's own read model ------------------------

    @event_handler("registry", "merchant_registered")
    def handle_registry_merchant_registered(self, event):
        read_model.merchant_registered(self.db, event.payload)

    @event_handler("registry", "merchant_updated")
    def handle_registry_merchant_updated(self, event):
        read_model.merchant_updated(self.db, event.payload)

    @event_handler("registry", "merchant_status_changed")
    def handle_registry_merchant_status_changed(self, event):
        read_model.merchant_status_changed(self.db, event.payload)

    @event_handler("registry", "person_registered")
    def handle_registry_person_registered(self, event):
        read_model.person_changed(self.db, event.payload)

    @event_handler("registry", "person_updated")
    def handle_registry_person_updated(self, event):
        read_model.person_changed(self.db, event.payload)

    @event_handler("registry", "pairing_started")
    def handle_registry_pairing_started(self, event):
        read_model.pairing_started(self.db, event.payload)

    @event_handler("registry", "pairing_ended")
    def handle_registry_pairing_ended(self, event):
        read_model.pairing_ended(self.db, event.payload)

    # --- whether the people the tickets' events concern were reached -------------------------

    @event_handler("notifications", "notification_delivered")
    def handle_notifications_notification_delivered(self, event):
        read_model.notification_outcome(self.db, event.payload, delivered=True)

    @event_handler("notifications", "notification_failed")
    def handle_notifications_notification_failed(self, event):
        read_model.notification_outcome(self.db, event.payload, delivered=False)
