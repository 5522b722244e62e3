"""Each service answers liveness and readiness over HTTP, with outbox backlog and dead letters."""

import urllib.request

import pytest

from alliance_platform.config import installed_services, service_class
from alliance_platform.errors import NotFound
from tests.support.helpers import database_url, get_json, http_port


@pytest.mark.parametrize("name", installed_services())
def test_every_service_is_live_and_ready_with_its_figures(name, container_factory, service_config):
    container = container_factory(service_class(name), service_config(name))
    container.start()
    base = f"http://127.0.0.1:{http_port(container)}"
    assert get_json(f"{base}/health/live") == (200, {"service": name, "status": "live"})
    status, report = get_json(f"{base}/health/ready")
    assert status == 200, report
    assert report["broker"] == "ok" and report["dead_letters"] == 0
    if "DATABASE_URL" not in container.config:  # the gateway: nothing of its own to report
        assert "database" not in report and "outbox" not in report and "relay" not in report
        return
    assert report["database"] == "ok"
    assert report["outbox"] == {"backlog": 0, "failing": 0, "oldest_seconds": 0.0}


def test_readiness_fails_with_the_reason_when_the_database_is_gone(container_factory, service_config):
    config = service_config("tickets", database=database_url("alliance_no_such_db"))
    container = container_factory(service_class("tickets"), config)
    container.start()
    status, report = get_json(f"http://127.0.0.1:{http_port(container)}/health/ready")
    assert status == 503
    assert report["status"] == "not ready" and report["database"].startswith("unavailable")
    assert report["broker"] == "ok"


def test_metrics_count_calls_by_method_and_outcome_and_report_the_outbox(container_factory, service_config, client):
    container = container_factory(service_class("registry"), service_config("registry"))
    container.start()
    with client() as alliance:
        alliance.registry.list_districts()
        alliance.registry.list_districts()
        with pytest.raises(NotFound):
            alliance.registry.get_merchant(merchant_id="00000000-0000-0000-0000-000000000000")
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port(container)}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"}
    assert samples['alliance_rpc_calls_total{method="list_districts",outcome="ok",service="registry"}'] == 2
    assert samples['alliance_rpc_calls_total{method="get_merchant",outcome="NotFound",service="registry"}'] == 1
    assert samples['alliance_rpc_duration_seconds_count{method="list_districts",service="registry"}'] == 2
    assert samples['alliance_outbox_backlog{service="registry"}'] == 0
    assert samples['alliance_dead_letters{service="registry"}'] == 0
    assert samples['alliance_ready{service="registry"}'] == 1
