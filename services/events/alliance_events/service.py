from alliance_platform.service import AllianceService


class EventsService(AllianceService):
    name = "events"
