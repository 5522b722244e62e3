"""Each service answers liveness and readiness over HTTP, with outbox backlog and dead letters."""

import pytest

from alliance_platform.config import installed_services, service_class
from tests.support.helpers import get_json, http_port


@pytest.mark.parametrize("name", installed_services())
def test_every_service_is_live_and_ready_with_its_figures(name, container_factory, service_config):
    container = container_factory(service_class(name), service_config(name))
    container.start()
    base = f"http://127.0.0.1:{http_port(container)}"
    assert get_json(f"{base}/health/live") == (200, {"service": name, "status": "live"})
    status, report = get_json(f"{base}/health/ready")
    assert status == 200, report
    assert report["database"] == report["broker"] == "ok"
    assert report["outbox"] == {"backlog": 0, "failing": 0, "oldest_seconds": 0.0}
    assert report["dead_letters"] == 0


def test_readiness_fails_with_the_reason_when_the_database_is_gone(container_factory, service_config):
    config = service_config("tickets", database="postgresql://postgres@127.0.0.1:5432/alliance_no_such_db")
    container = container_factory(service_class("tickets"), config)
    container.start()
    status, report = get_json(f"http://127.0.0.1:{http_port(container)}/health/ready")
    assert status == 503
    assert report["status"] == "not ready" and report["database"].startswith("unavailable")
    assert report["broker"] == "ok"
