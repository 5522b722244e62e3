"""The notifications service: reaches staff and merchants on the right channel, once, at the right hour."""

from alliance_platform.entrypoints import event_handler, rpc, timer
from alliance_platform.rpc import ServiceRpc
from alliance_platform.service import AllianceService, quiet

from . import dispatch, fanout, inbox, operations, schemas
from .digests import batch_digests
from .rules import REGISTRY_BATCH
from .settings import SettingsProvider

OPERATORS = ("operator", "admin")
SYSTEMS = ("system",)


class NotificationsService(AllianceService):
    name = "notifications"

    settings = SettingsProvider()
    registry_rpc = ServiceRpc("registry")

    def _fanout(self):
        return fanout.Fanout(self.db, self.settings, self._resolve_audience, self.clock.now())

    def _resolve_audience(self, query, cursor):
        return self.registry_rpc.resolve_audience(**query, limit=REGISTRY_BATCH, cursor=cursor)

    def _notify(self, event):
        return fanout.notify(self._fanout(), event)

    # --- the demand list --------------------------------------------------------------------

    @event_handler("tickets", "ticket_submitted")
    def handle_tickets_ticket_submitted(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_assigned")
    def handle_tickets_ticket_assigned(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_status_changed")
    def handle_tickets_ticket_status_changed(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_resolved")
    def handle_tickets_ticket_resolved(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_closed")
    def handle_tickets_ticket_closed(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_reopened")
    def handle_tickets_ticket_reopened(self, event):
        return self._notify(event)

    @event_handler("tickets", "follow_up_call_scheduled")
    def handle_tickets_follow_up_call_scheduled(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_due_soon")
    def handle_tickets_ticket_due_soon(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_overdue")
    def handle_tickets_ticket_overdue(self, event):
        return self._notify(event)

    @event_handler("tickets", "ticket_escalated")
    def handle_tickets_ticket_escalated(self, event):
        return self._notify(event)

    # --- activities -------------------------------------------------------------------------

    @event_handler("events", "activity_published")
    def handle_events_activity_published(self, event):
        return self._notify(event)

    @event_handler("events", "activity_cancelled")
    def handle_events_activity_cancelled(self, event):
        return self._notify(event)

    @event_handler("events", "activity_updated")
    def handle_events_activity_updated(self, event):
        return self._notify(event)

    @event_handler("events", "registration_confirmed")
    def handle_events_registration_confirmed(self, event):
        return self._notify(event)

    @event_handler("events", "registration_waitlisted")
    def handle_events_registration_waitlisted(self, event):
        return self._notify(event)

    @event_handler("events", "registration_promoted")
    def handle_events_registration_promoted(self, event):
        return self._notify(event)

    @event_handler("events", "registration_cancelled")
    def handle_events_registration_cancelled(self, event):
        return self._notify(event)

    @event_handler("events", "activity_reminder_due")
    def handle_events_activity_reminder_due(self, event):
        return self._notify(event)

    # --- the register -----------------------------------------------------------------------

    @event_handler("registry", "party_member_registered")
    def handle_registry_party_member_registered(self, event):
        return self._notify(event)

    @event_handler("registry", "honour_awarded")
    def handle_registry_honour_awarded(self, event):
        return self._notify(event)

    @event_handler("registry", "floating_member_transfer_due")
    def handle_registry_floating_member_transfer_due(self, event):
        return self._notify(event)

    # --- other systems ----------------------------------------------------------------------

    @rpc(schema=schemas.Send, allow=SYSTEMS)
    def send(self, cmd):
        return fanout.send(self._fanout(), self.call.identity, cmd)

    # --- a person's own inbox and preferences -----------------------------------------------

    @rpc(schema=schemas.ListInbox, read_only=True)
    def list_inbox(self, cmd):
        return inbox.list_inbox(self.db, self.call.identity, cmd)

    @rpc(schema=schemas.RecipientRef, read_only=True)
    def count_unread(self, cmd):
        return inbox.count_unread(self.db, self.call.identity, cmd["recipient"])

    @rpc(schema=schemas.MarkRead)
    def mark_read(self, cmd):
        return inbox.mark_read(self.db, self.call.identity, cmd, self.clock.now())

    @rpc(schema=schemas.RecipientRef, read_only=True)
    def get_preferences(self, cmd):
        return inbox.get_preferences(self.db, self.call.identity, self.settings.policy, cmd["recipient"])

    @rpc(schema=schemas.SetPreferences)
    def set_preferences(self, cmd):
        return inbox.set_preferences(self.db, self.call.identity, self.settings.policy, cmd, self.clock.now())

    # --- operators --------------------------------------------------------------------------

    @rpc(schema=schemas.DeliveryStatus, allow=(*OPERATORS, *SYSTEMS), read_only=True)
    def delivery_status(self, cmd):
        return operations.delivery_status(self.db, self.call.identity, cmd)

    @rpc(schema=schemas.ListDeliveries, allow=OPERATORS, read_only=True)
    def list_deliveries(self, cmd):
        return operations.list_deliveries(self.db, cmd)

    @rpc(schema=schemas.DeliveryRef, allow=OPERATORS)
    def retry_delivery(self, cmd):
        return operations.retry_delivery(self.db, cmd["delivery_id"], self.clock.now())

    @rpc(schema=schemas.Period, allow=OPERATORS, read_only=True)
    def stats(self, cmd):
        return operations.stats(self.db, cmd, self.clock.now(), self.settings.providers)

    # --- time passing (ticks log at debug level: they run every half second) ----------------

    @timer(interval="DISPATCH_INTERVAL")
    @quiet
    def send_sms(self):
        return dispatch.dispatch(self.db, self.settings, self.clock, "sms")

    @timer(interval="DISPATCH_INTERVAL")
    @quiet
    def send_email(self):
        return dispatch.dispatch(self.db, self.settings, self.clock, "email")

    @timer(interval="DISPATCH_INTERVAL")
    @quiet
    def send_wecom(self):
        return dispatch.dispatch(self.db, self.settings, self.clock, "wecom")

    @timer(interval="DISPATCH_INTERVAL")
    @quiet
    def send_dingtalk(self):
        return dispatch.dispatch(self.db, self.settings, self.clock, "dingtalk")

    @timer(interval="DIGEST_INTERVAL")
    @quiet
    def make_digests(self):
        return batch_digests(self.db, self.settings.templates, self.clock.now())

    @timer(interval="RESOLVE_INTERVAL")
    @quiet
    def resume_fanouts(self):
        return fanout.resume(self._fanout())
