"""The gateway in front of real services, in this process: ``gateway()`` starts it on the test's
vhost (the services a test needs are started by the shared ``service_harness``) and returns a
``Gateway`` — its base URL and an HTTP client acting as whoever a test names, as a caller in
another system would, from the OpenAPI document alone."""

from dataclasses import dataclass

import pytest
import requests

from alliance_gateway.service import GatewayService
from tests.integration.tickets.conftest import START, TicketsHarness
from tests.support.helpers import http_port


@dataclass
class Gateway:
    url: str
    container: object
    tokens: object

    def token(self, kind="staff", roles=("admin",), districts=("*",), subject="admin-1", merchant_id=None):
        return self.tokens.issue(subject, kind, roles=list(roles), districts=list(districts), merchant_id=merchant_id)

    def session(self, token=None, **headers):
        """A requests session with ``Authorization: Bearer <token>`` (none when token is "")."""
        session = requests.Session()
        token = self.token() if token is None else token
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        session.headers.update(headers)
        return session

    def merchant(self, merchant_id, subject="owner-1"):
        return self.session(self.token("merchant", ["merchant"], ["wholesale_city"], subject, merchant_id))

    def request(self, method, path, token=None, **kwargs):
        kwargs.setdefault("timeout", 15)
        return self.session(token).request(method, self.url + path, **kwargs)


@pytest.fixture
def gateway(container_factory, service_config, tokens):
    def start(**overrides):
        container = container_factory(GatewayService, service_config("gateway", **overrides))
        container.start()
        return Gateway(f"http://127.0.0.1:{http_port(container)}", container, tokens)

    return start


@pytest.fixture
def tickets(service_harness):
    """The tickets service on its own database, its clock at ``START``, merchants seeded by SQL."""
    started = service_harness("tickets", START)
    return TicketsHarness(started.container, started.time, started.tokens, started.client, started.extras)
