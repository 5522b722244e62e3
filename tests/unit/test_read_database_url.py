"""A service's read URL comes from <SERVICE>_READ_DATABASE_URL; unset, there is none (config.py)."""

from alliance_platform.config import load_config


def test_the_read_url_is_the_services_own_variable(monkeypatch):
    monkeypatch.setenv("TICKETS_READ_DATABASE_URL", "postgresql://tickets@a:5432,b:5432/t?target_session_attrs=any")
    assert load_config("tickets")["READ_DATABASE_URL"].startswith("postgresql://tickets@a:5432,b:5432/")
    assert load_config("registry")["READ_DATABASE_URL"] is None  # another service's variable is not its


def test_without_it_reads_go_to_the_primary_and_the_gateway_has_no_database(monkeypatch):
    monkeypatch.delenv("TICKETS_READ_DATABASE_URL", raising=False)
    assert load_config("tickets")["READ_DATABASE_URL"] is None
    assert "READ_DATABASE_URL" not in load_config("gateway")


def test_an_override_wins(monkeypatch):
    monkeypatch.setenv("EVENTS_READ_DATABASE_URL", "postgresql://events@standby/e")
    assert (
        load_config("events", {"READ_DATABASE_URL": "postgresql://x@y/z"})["READ_DATABASE_URL"] == "postgresql://x@y/z"
    )
