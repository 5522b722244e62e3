from alliance_platform.entrypoints import event_handler
from alliance_platform.service import AllianceService

from . import read_model


class TicketsService(AllianceService):
    name = "tickets"

    @event_handler("registry", "merchant_registered")
    def handle_registry_merchant_registered(self, event):
        read_model.merchant_registered(self.db, event.payload)
