from alliance_platform.config import installed_services, load_config


def test_the_five_services_are_installed():
    assert installed_services() == ["events", "gateway", "notifications", "registry", "tickets"]


def test_every_value_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://u:p@broker:5672/alliance")
    monkeypatch.setenv("TICKETS_DATABASE_URL", "postgresql://db/tickets")
    monkeypatch.setenv("ALLIANCE_EVENT_RETRY_DELAYS_MS", "[5, 50]")
    config = load_config("tickets")
    assert config["AMQP_URI"] == "amqp://u:p@broker:5672/alliance"
    assert config["DATABASE_URL"] == "postgresql://db/tickets"
    assert config["EVENT_RETRY_DELAYS_MS"] == [5, 50]
    assert config["SERVICE_NAME"] == "tickets"


def test_defaults_are_for_local_development():
    config = load_config("registry")
    assert "127.0.0.1" in config["DATABASE_URL"] and config["LOG_FORMAT"] == "console"


def test_the_centre_has_one_working_calendar_for_slas_and_escalations():
    """The platform's WORKING_CALENDAR: a holiday added there closes the centre for the tickets' SLA
    clocks and the notifications' escalation chains alike (no second copy to keep equal)."""
    from datetime import date

    from alliance_notifications.service import SUBSCRIPTIONS
    from alliance_notifications.settings import Settings as NotificationsSettings
    from alliance_tickets.settings import Settings as TicketsSettings

    holiday = {**load_config("tickets")["WORKING_CALENDAR"], "holidays": ["2026-10-01"]}
    tickets = TicketsSettings.from_config({**load_config("tickets"), "WORKING_CALENDAR": holiday}).calendar
    notifications = NotificationsSettings.from_config(
        {**load_config("notifications"), "WORKING_CALENDAR": holiday}, set(SUBSCRIPTIONS)
    ).calendar
    assert tickets == notifications
    assert date(2026, 10, 1) in tickets.holidays
    assert TicketsSettings.from_config(load_config("tickets")).calendar == (
        NotificationsSettings.from_config(load_config("notifications"), set(SUBSCRIPTIONS)).calendar
    )
