"""deploy/grafana/alliance-dashboard.json against what the services really expose: every series a
panel queries, with the labels it groups by, appears on a running service's GET /metrics, and
every alliance metric has a panel — the gateway's included (it exposes the platform's metrics)."""

import json
import re
import urllib.request

import kombu
import pytest
import requests

from alliance_contracts import example_envelopes
from alliance_platform.config import service_class
from alliance_registry.domain.identifiers import make_credit_code
from tests.deploy.conftest import DEPLOY
from tests.support.helpers import http_port, wait_until

DASHBOARD = DEPLOY / "grafana" / "alliance-dashboard.json"


def _exposition(container):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port(container)}/metrics", timeout=5) as response:
        return response.read().decode()


def _samples(text):
    """{series name: set of label names} of the samples in a Prometheus exposition."""
    series = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? ", line)
        if match and not line.startswith("#"):
            labels = set(re.findall(r'(\w+)="', match.group(2) or ""))
            series.setdefault(match.group(1), set()).update(labels)
    return series


@pytest.fixture
def exposed(container_factory, service_config, client, rabbit_config, admin_token):
    """The series of a registry that answered calls (over RPC and through the gateway) and published
    an event, a tickets that handled events, and the gateway that passed a call on."""
    registry = container_factory(service_class("registry"), service_config("registry"))
    tickets = container_factory(service_class("tickets"), service_config("tickets"))
    gateway = container_factory(service_class("gateway"), service_config("gateway"))
    registry.start()
    tickets.start()
    gateway.start()
    with client() as alliance:
        alliance.registry.list_districts()
        alliance.registry.register_merchant(  # an event through the registry's outbox and relay
            shop_name="鑫盛五金",
            district_id="outlets",
            category="五金",
            credit_code=make_credit_code("91370000123456789"),
            unit_no="A-101",
        )
    response = requests.get(
        f"http://127.0.0.1:{http_port(gateway)}/v1/districts",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    envelope = example_envelopes("registry", "merchant_registered")[0]
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        conn.Producer().publish(
            json.dumps(envelope),
            exchange="registry.events",
            routing_key="merchant_registered",
            content_type="application/json",
            retry=False,
        )
    wait_until(lambda: "alliance_events_handled_total{" in _exposition(tickets), message="the event in the metrics")
    wait_until(
        lambda: "alliance_outbox_wait_seconds_bucket{" in _exposition(registry), message="the relay in the metrics"
    )
    gateway_series = _samples(_exposition(gateway))
    assert 'alliance_ready{service="gateway"} 1.0' in _exposition(gateway)
    series = _samples(_exposition(registry))
    for name, labels in [*_samples(_exposition(tickets)).items(), *gateway_series.items()]:
        series.setdefault(name, set()).update(labels)
    return series


def _queries(dashboard):
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_panel_queries_series_the_services_expose(exposed):
    dashboard = json.loads(DASHBOARD.read_text())
    used = set()
    for expr in _queries(dashboard):
        names = {n for n in re.findall(r"\b(alliance_[a-z_]+)\b", expr)}
        assert names, expr
        used |= names
        grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for label in group.split(",")}
        for name in names:
            assert name in exposed, f"{name} is not exposed; query: {expr}"
            selectors = set(re.findall(rf"{name}\{{([^}}]*)\}}", expr))
            for selector in selectors:
                assert set(re.findall(r"(\w+)\s*(?:=~|!=|=)", selector)) <= exposed[name], expr
            assert grouped <= exposed[name] | {"le"} or not grouped, expr
    families = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in exposed if name.startswith("alliance_")
    }
    charted = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert families <= charted, f"metrics without a panel: {families - charted}"


def test_the_dashboard_is_importable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "service"}
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}" and target["refId"]
