"""The gateway in front of real services, in this process: ``gateway()`` starts it on the test's
vhost (the services a test needs are started by the shared ``service_harness``) and returns a
``Gateway`` — its base URL and an HTTP client acting as whoever a test names, as a caller in
another system would, from the OpenAPI document alone."""

import uuid
from dataclasses import dataclass

import pytest
import requests

from alliance_gateway.service import GatewayService
from alliance_registry.domain.identifiers import make_credit_code
from tests.integration.tickets.conftest import START, TicketsHarness, demand
from tests.support.helpers import http_port, query, wait_until


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


# --- the staff console (test_console_*.py) ---------------------------------------------------------


@dataclass
class ConsoleWorld:
    """The gateway and the four services it fronts, on one vhost, their clocks at ``START``; the
    staff console at ``url``."""

    gateway: Gateway
    services: dict  # name -> ServiceHarness
    tokens: object

    @property
    def url(self):
        return f"{self.gateway.url}/console"

    def staff_token(self, person_id, roles=("staff",), districts=("wholesale_city",), name="王芳"):
        return self.tokens.issue(person_id, "staff", roles=list(roles), districts=list(districts), name=name)

    def admin(self):
        return self.services["registry"].admin()

    def person(self, name, mobile, roles=("staff",), district="wholesale_city", teams=()):
        """A person in the registry, known to the tickets service too (its event), their id."""
        with self.admin() as admin:
            person = admin.registry.register_person(
                name=name, mobile=mobile, roles=list(roles), district_id=district, teams=list(teams)
            )
        self._known("people_directory", "person_id", person["person_id"])
        return person["person_id"]

    def merchant(self, shop_name, district="wholesale_city", owner_id=None):
        """A merchant in the registry, known to the tickets service too, its id."""
        with self.admin() as admin:
            merchant = admin.registry.register_merchant(
                shop_name=shop_name,
                district_id=district,
                category="五金",
                credit_code=make_credit_code(f"9137{uuid.uuid4().int % 10**13:013d}"),
                owner_id=owner_id,
                unit_no="A-101",
            )
        self._known("merchant_directory", "merchant_id", merchant["merchant_id"])
        return merchant["merchant_id"]

    def demand(self, merchant_id, district="wholesale_city", **overrides):
        """A demand the merchant submits (through the tickets service); its state."""
        with self.services["tickets"].merchant(merchant_id, district) as shop:
            return shop.tickets.submit_ticket(**demand(merchant_id, **overrides))

    def _known(self, table, column, value):
        database = self.services["tickets"].database
        wait_until(
            lambda: query(database, f"SELECT 1 FROM {table} WHERE {column} = %s", (value,)),
            timeout=15,
            message=f"the tickets service knows {table} {value}",
        )

    def cookie(self, token):
        """The session cookie a browser keeps after signing in with ``token`` (Playwright's form)."""
        return {"name": "alliance_console", "value": token, "domain": "127.0.0.1", "path": "/console"}


@pytest.fixture
def console(service_harness, gateway, tokens):
    """Registry, tickets, events and notifications started (each on its own database), and a
    gateway whose clock reads the tickets service's (the deadlines the console marks)."""
    started = {name: service_harness(name, START) for name in ("registry", "tickets", "events", "notifications")}
    gw = gateway(CLOCK_OFFSET_FILE=str(started["tickets"].time.path))
    return ConsoleWorld(gw, started, tokens)
