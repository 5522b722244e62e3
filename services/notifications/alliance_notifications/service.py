"""The notifications service: reaches staff and merchants on the right channel, once, at the right hour."""

from alliance_platform.entrypoints import event_handler, rpc, timer
from alliance_platform.rpc import ServiceRpc
from alliance_platform.service import AllianceService, quiet

from . import queries, schemas, timers, use_cases
from .domain.audiences import REGISTRY_BATCH
from .domain.deliveries import SENDING
from .domain.rules import subscriptions
from .settings import SettingsProvider

OPERATORS = ("operator", "admin")
SYSTEMS = ("system",)
# The events it consumes: those its shipped rules name (one handler each, generated below).
SUBSCRIPTIONS = subscriptions()


class NotificationsService(AllianceService):
    name = "notifications"

    settings = SettingsProvider()
    registry_rpc = ServiceRpc("registry")

    def _registry(self, query, cursor):
        """The registry's ``resolve_audience``, as a fan-out pages through it."""
        return self.registry_rpc.resolve_audience(**query, limit=REGISTRY_BATCH, cursor=cursor)

    # --- other systems ----------------------------------------------------------------------

    @rpc(schema=schemas.Send, result=schemas.SendOut, allow=SYSTEMS, route="POST /notifications")
    def send(self, cmd):
        return use_cases.send(self.ctx(), cmd, self._registry)

    # --- a person's own inbox and preferences -----------------------------------------------

    @rpc(schema=schemas.ListInbox, result=schemas.InboxPageOut, read_only=True, route="GET /inbox")
    def list_inbox(self, cmd):
        return queries.list_inbox(self.ctx(), cmd)

    @rpc(schema=schemas.RecipientRef, result=schemas.UnreadOut, read_only=True, route="GET /inbox/unread-count")
    def count_unread(self, cmd):
        return queries.count_unread(self.ctx(), cmd)

    @rpc(schema=schemas.MarkRead, result=schemas.MarkedOut, route="POST /inbox/read")
    def mark_read(self, cmd):
        return use_cases.mark_read(self.ctx(), cmd)

    @rpc(schema=schemas.RecipientRef, result=schemas.PreferencesOut, read_only=True, route="GET /preferences")
    def get_preferences(self, cmd):
        return queries.get_preferences(self.ctx(), cmd)

    @rpc(schema=schemas.SetPreferences, result=schemas.PreferencesOut, route="PUT /preferences")
    def set_preferences(self, cmd):
        return use_cases.set_preferences(self.ctx(), cmd)

    # --- operators --------------------------------------------------------------------------

    @rpc(
        schema=schemas.DeliveryStatus,
        result=schemas.DeliveryStatusOut,
        allow=(*OPERATORS, *SYSTEMS),
        read_only=True,
        route="GET /delivery-status",
    )
    def delivery_status(self, cmd):
        return queries.delivery_status(self.ctx(), cmd)

    @rpc(
        schema=schemas.ListDeliveries,
        result=schemas.DeliveryPageOut,
        allow=OPERATORS,
        read_only=True,
        route="GET /deliveries",
    )
    def list_deliveries(self, cmd):
        return queries.list_deliveries(self.ctx(), cmd)

    @rpc(
        schema=schemas.DeliveryRef,
        result=schemas.DeliveryOut,
        allow=OPERATORS,
        route="POST /deliveries/{delivery_id}/retry",
    )
    def retry_delivery(self, cmd):
        return use_cases.retry_delivery(self.ctx(), cmd)

    @rpc(
        schema=schemas.StatsPeriod,
        result=schemas.StatsOut,
        allow=OPERATORS,
        read_only=True,
        route="GET /stats/notifications",
    )
    def stats(self, cmd):
        return queries.stats(self.ctx(), cmd)

    # --- time passing (ticks log at debug level; one sender per channel is generated below) --

    @timer(interval="DIGEST_INTERVAL")
    @quiet
    def make_digests(self):
        return timers.make_digests(self.ctx())

    @timer(interval="RESOLVE_INTERVAL")
    @quiet
    def resume_fanouts(self):
        return timers.resume_fanouts(self.ctx(), self._registry)

    @timer(interval="ESCALATION_INTERVAL")
    @quiet
    def escalate(self):
        return timers.escalate(self.ctx())


def _notifier(source, event_type):
    """The handler of ``source.event_type``: the event to every rule that names it."""

    def handle(self, event):
        return use_cases.notify(self.ctx(), event, self._registry)

    return event_handler(source, event_type)(_named(handle, f"handle_{source}_{event_type}"))


def _sender(channel):
    """The timer that sends ``channel``'s due deliveries, a tick at a time."""

    def tick(self):
        return timers.send(self.ctx(), channel)

    return timer(interval="DISPATCH_INTERVAL")(quiet(_named(tick, f"send_{channel}")))


def _named(function, name):
    """``function`` as the method ``name`` (which names its queue, its processed_events rows, its logs)."""
    function.__name__, function.__qualname__ = name, f"{NotificationsService.__name__}.{name}"
    return function


for _entrypoint in [_notifier(*event) for event in SUBSCRIPTIONS] + [_sender(channel) for channel in SENDING]:
    setattr(NotificationsService, _entrypoint.__name__, _entrypoint)
