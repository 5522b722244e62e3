from alliance_platform.service import AllianceService


class NotificationsService(AllianceService):
    name = "notifications"
