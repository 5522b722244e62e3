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
