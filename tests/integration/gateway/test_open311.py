"""The demand list as an Open311 GeoReport v2 endpoint, driven by an Open311 client library
(PyPI ``georeport``) as a hotline platform would: the categories, a merchant's demand posted with
its own token and read back, lists by status and by window, JSON and XML, and refusals in the
spec's error format. The gateway, the tickets service and the registry run in this process on the
real broker and databases; merchants are registered with the registry, and the tickets service
learns of them from its events, as in production."""

import importlib
import uuid
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
import requests
import xmltodict
from georeport import GeoReport

from tests.integration.tickets.conftest import START
from tests.support.helpers import query, wait_until
from tests.use_cases.registry.samples import merchant_fields

GEOREPORT = importlib.import_module("georeport.georeport")
CATEGORIES = {
    "bank_financing": "银企对接",
    "rights_protection": "权益维护",
    "policy_consultation": "政策咨询",
    "venue_sharing": "阵地共享",
    "party_affairs": "党务",
    "government_affairs": "政务",
    "labour_social_security": "劳动保障",
    "online_shop": "线上店铺",
    "other": "其他",
}


@pytest.fixture
def open311(gateway, tickets, service_harness):
    """(client of the endpoint, the gateway, the tickets harness, the registry harness)."""
    registry = service_harness("registry", START)
    gw = gateway(CLOCK_OFFSET_FILE=str(tickets.time.path))  # the gateway's default window: the tickets' clock
    return Open311(gw, tickets, registry)


class Open311:
    def __init__(self, gw, tickets, registry):
        self.gw, self.tickets, self.registry = gw, tickets, registry
        self.root = f"{gw.url}/open311/v2"

    def client(self, fmt="json", jurisdiction=None):
        return GeoReport(self.root, jurisdiction=jurisdiction, output_format=fmt)

    @contextmanager
    def as_(self, token):
        """georeport's calls carry ``token`` (the library sends no api_key on a GET: its transport
        gets the Authorization header, and nothing else of it changes)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        with mock.patch.object(GEOREPORT, "requests", session):
            yield

    def register(self, district="wholesale_city", unit_no="A-101"):
        """A merchant registered with the registry, once the tickets service knows it too."""
        with self.registry.admin() as alliance:
            merchant = alliance.registry.register_merchant(**merchant_fields(district_id=district, unit_no=unit_no))
        merchant_id = merchant["merchant_id"]
        wait_until(
            lambda: query(
                self.tickets.database, "SELECT 1 FROM merchant_directory WHERE merchant_id = %s", (merchant_id,)
            ),
            message=f"tickets to know merchant {merchant_id}",
        )
        return merchant_id

    def merchant_token(self, merchant_id, district="wholesale_city"):
        return self.gw.token("merchant", ["merchant"], [district], f"owner-{merchant_id[:8]}", merchant_id)

    def staff_token(self, district="wholesale_city", subject="staff-1"):
        return self.gw.token("staff", ["staff"], [district], subject)

    def post(self, fmt="json", headers=None, **form):
        """A POST as an Open311 client sends it: a form, the token as api_key."""
        return requests.post(f"{self.root}/requests.{fmt}", data=form, headers=headers, timeout=15)

    def submit(self, token, **form):
        answer = self.post(api_key=token, **{"service_code": "bank_financing", "description": DEMAND, **form})
        assert answer.status_code == 200, answer.text
        return answer.json()[0]["service_request_id"]


DEMAND = "申请小微企业经营贷款\n店铺扩大经营，需要周转资金约50万元。"


def _errors(response, status, fmt="json"):
    assert response.status_code == status, response.text
    if fmt == "json":
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        errors = response.json()
    else:
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        errors = xmltodict.parse(response.content, force_list=("error",))["errors"]["error"]
        errors = [{**e, "code": int(e["code"])} for e in errors]
    assert errors and all(e["code"] == status and e["description"] for e in errors)
    return " ".join(e["description"] for e in errors)


def test_the_demand_categories_are_the_services_in_chinese_and_english(open311):
    services = open311.client().get_service_list()  # no api_key: the list is public
    assert {s["service_code"]: s["service_name"] for s in services} == CATEGORIES
    financing = next(s for s in services if s["service_code"] == "bank_financing")
    assert financing["metadata"] is False and financing["type"] == "realtime"
    assert "Bank–enterprise matchmaking" in financing["description"] and "银行" in financing["description"]
    assert "loan" in financing["keywords"] and financing["group"]

    as_xml = open311.client("xml", jurisdiction="aodele").get_service_list()
    assert [s["service_code"] for s in as_xml] == list(CATEGORIES)
    assert as_xml[0]["metadata"] == "false" and as_xml[0]["service_name"] == "银企对接"

    definition = open311.client().get_service_definition("government_affairs")
    assert definition["service_code"] == "government_affairs"
    [mode] = definition["attributes"]
    assert mode["code"] == "handling_mode" and mode["required"] is False
    assert [v["key"] for v in mode["values"]] == ["on_the_spot", "assisted"]
    in_xml = open311.client("xml").get_service_definition("government_affairs")
    assert in_xml["attributes"]["attribute"]["code"] == "handling_mode"

    unknown = requests.get(f"{open311.root}/services.xml", params={"jurisdiction_id": "moon"}, timeout=15)
    assert "jurisdiction_id 'moon' was not found" in _errors(unknown, 404, "xml")
    _errors(requests.get(f"{open311.root}/services/potholes.json", timeout=15), 404)
    _errors(requests.get(f"{open311.root}/services.csv", timeout=15), 404)


def test_a_merchant_posts_a_demand_with_its_token_and_reads_it_back(open311):
    merchant_id = open311.register(unit_no="B-207")
    token = open311.merchant_token(merchant_id)
    posted = open311.post(
        api_key=token,
        service_code="bank_financing",
        description=DEMAND,
        email="ignored@example.com",
        first_name="ignored",
        lat="37.45",
        long="116.30",
        media_url="https://files.example.com/licence.jpg",
    )
    assert posted.status_code == 200, posted.text
    assert posted.headers["Content-Type"] == "application/json; charset=utf-8"
    [created] = posted.json()
    reference = created["service_request_id"]
    assert reference.startswith(f"DM-{START.year}-") and created["account_id"] == merchant_id
    assert reference in created["service_notice"]

    with open311.as_(token):
        read = open311.client().get_service_request(reference)
        in_xml = open311.client("xml").get_service_request(reference)
    with open311.tickets.merchant(merchant_id) as alliance:
        ticket = alliance.tickets.get_ticket(reference=reference)
    assert read["service_request_id"] == reference and read["status"] == "open"
    assert read["service_code"] == "bank_financing" and read["service_name"] == "银企对接"
    assert read["description"] == DEMAND
    assert read["expected_datetime"] == ticket["promised_by"]  # the SLA's resolution deadline
    assert read["requested_datetime"] == ticket["submitted_at"]
    assert read["address"] == "德百物流批发城 B-207" and read["zipcode"] == ""
    assert read["media_url"] == "https://files.example.com/licence.jpg"
    assert read["agency_responsible"] and "lat" not in read
    assert ticket["title"] == "申请小微企业经营贷款" and ticket["handling_mode"] == "assisted"
    assert in_xml["service_request_id"] == reference and in_xml["status"] == "open"
    assert in_xml["zipcode"] is None and in_xml["address"] == read["address"]

    xml_post = open311.post(
        "xml",
        api_key=token,
        service_code="other",
        description="咨询一下",
        **{"attribute[handling_mode]": "on_the_spot"},
    )
    assert xml_post.status_code == 200, xml_post.text
    assert xml_post.headers["Content-Type"] == "text/xml; charset=utf-8"
    created = xmltodict.parse(xml_post.content)["service_requests"]["request"]
    assert created["service_request_id"].startswith("DM-") and created["account_id"] == merchant_id


def test_requests_are_listed_by_id_status_and_window(open311):
    merchant_id = open311.register()
    token = open311.merchant_token(merchant_id)
    early = open311.submit(token)
    open311.tickets.time.set(START + timedelta(days=10))
    later = open311.submit(token, service_code="online_shop")
    rejected = open311.submit(token, service_code="other")
    with open311.tickets.staff("wholesale_city") as staff:
        ticket_id = staff.tickets.get_ticket(reference=rejected)["ticket_id"]
        staff.tickets.reject_ticket(ticket_id=ticket_id, reason="不属于服务范围")

    def listed(jurisdiction=None, **query):
        found = open311.client(jurisdiction=jurisdiction).get_service_requests(**query)
        return [r["service_request_id"] for r in found]

    with open311.as_(token):
        assert listed() == [rejected, later, early]  # the last 90 days, newest first
        assert listed(status="open") == [later, early]
        assert listed(status="closed") == [rejected]
        assert listed(status="open,closed") == [rejected, later, early]
        assert listed(service_code="online_shop,bank_financing") == [later, early]
        assert listed(service_code="bank_financing", status="closed") == []
        day = START + timedelta(days=5)
        assert listed(start_date=day.isoformat()) == [rejected, later]
        assert listed(end_date=day.isoformat()) == [early]
        assert listed(start_date=(START - timedelta(days=3)).isoformat(), end_date=day.isoformat()) == [early]
        assert listed(service_request_id=f"{early},DM-1999-000001,{later}") == [early, later]
        closed = open311.client().get_service_requests(service_request_id=rejected)[0]
        assert closed["status"] == "closed" and "Rejected" in closed["status_notes"]
        in_xml = open311.client("xml").get_service_requests(status="open")
        assert [r["service_request_id"] for r in in_xml] == [later, early]

    too_long = requests.get(
        f"{open311.root}/requests.json",
        params={"api_key": token, "start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        timeout=15,
    )
    assert "90 days" in _errors(too_long, 400)
    no_zone = requests.get(f"{open311.root}/requests.xml", params={"api_key": token, "start_date": "2026-01-01"})
    assert "zone" in _errors(no_zone, 400, "xml")
    _errors(requests.get(f"{open311.root}/requests.json", params={"api_key": token, "status": "pending"}), 400)

    # Another merchant sees none of them; staff of the district see them all, in its jurisdiction.
    other = open311.merchant_token(open311.register(district="outlets"), "outlets")
    with open311.as_(other):
        assert listed() == []
        assert listed(service_request_id=early) == []
    staff = open311.staff_token()
    with open311.as_(staff):
        assert listed("wholesale_city") == [rejected, later, early]
        assert listed("aodele") == []
    # Staff submit for a shop of their district, naming it as the account.
    for_the_shop = open311.submit(staff, account_id=merchant_id, service_code="government_affairs")
    with open311.as_(token):
        [submitted] = open311.client().get_service_requests(service_request_id=for_the_shop)
    assert submitted["service_code"] == "government_affairs" and submitted["status"] == "open"


def test_refusals_are_the_specs_errors(open311):
    merchant_id = open311.register()
    token = open311.merchant_token(merchant_id)
    url = f"{open311.root}/requests.json"
    no_key = requests.post(url, data={"service_code": "other", "description": "x"}, timeout=15)
    assert "api_key" in _errors(no_key, 403)
    forged = token[:-4] + "AAAA"
    _errors(requests.post(url, data={"api_key": forged, "service_code": "other", "description": "x"}), 403)
    _errors(requests.get(f"{open311.root}/requests.xml"), 403, "xml")  # no token: nobody's requests
    _errors(open311.post(api_key=token, service_code="potholes", description="x"), 404)
    assert "service_code" in _errors(open311.post(api_key=token, description="x"), 400)
    assert "description" in _errors(open311.post(api_key=token, service_code="other"), 400)
    _errors(open311.post(api_key=token, service_code="other", description="x", jurisdiction_id="moon"), 404)
    elsewhere = open311.post(api_key=token, service_code="other", description="x", jurisdiction_id="aodele")
    assert "wholesale_city" in _errors(elsewhere, 400)
    too_long = open311.post(api_key=token, service_code="other", description="很" * 4001)
    assert "description" in _errors(too_long, 400)
    as_json = requests.post(url, json={"service_code": "other"}, params={"api_key": token}, timeout=15)
    _errors(as_json, 415)
    # Another merchant's shop, and staff naming a shop of another district.
    _errors(open311.post(api_key=token, service_code="other", description="x", account_id=str(uuid.uuid4())), 400)
    staff = open311.staff_token("outlets")
    _errors(open311.post(api_key=staff, service_code="other", description="x", account_id=merchant_id), 403)

    reference = open311.submit(token)
    other = open311.merchant_token(open311.register(district="outlets"), "outlets")
    _errors(requests.get(f"{open311.root}/requests/{reference}.json", params={"api_key": other}), 403)
    _errors(requests.get(f"{open311.root}/requests/DM-2026-999999.xml", params={"api_key": token}), 404, "xml")
    _errors(requests.get(f"{open311.root}/requests/nonsense.json", params={"api_key": token}), 404)
    in_another = {"api_key": token, "jurisdiction_id": "outlets"}
    _errors(requests.get(f"{open311.root}/requests/{reference}.json", params=in_another), 404)
    _errors(requests.get(f"{open311.gw.url}/open311/v3/services.json", timeout=15), 404)
    not_allowed = requests.delete(url, timeout=15)
    _errors(not_allowed, 405)
    assert set(not_allowed.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


def test_a_retried_post_with_the_same_idempotency_key_makes_one_demand(open311):
    token = open311.merchant_token(open311.register())
    key = {"Idempotency-Key": f"hotline-{uuid.uuid4()}"}
    first = open311.post(headers=key, api_key=token, service_code="other", description="同一件事")
    again = open311.post(headers=key, api_key=token, service_code="other", description="同一件事")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    with open311.as_(token):
        assert len(open311.client().get_service_requests()) == 1
