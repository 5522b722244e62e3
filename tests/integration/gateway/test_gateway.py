"""The HTTP gateway as a caller in another system meets it, written from the OpenAPI document and
the README alone: resource-style operations, the caller's own identity, problem details for every
refusal, safe retries with Idempotency-Key. The gateway and the tickets service run in this process
on the real broker and database."""

import json
import uuid

import pytest

from alliance_gateway.problems import CONTENT_TYPE as PROBLEM
from tests.integration.tickets.conftest import demand
from tests.support.helpers import wait_until


@pytest.fixture
def front(gateway, tickets):
    """(gateway, tickets harness, a merchant known to tickets)."""
    return gateway(), tickets, tickets.seed_merchant()


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["type"] == f"urn:alliance:problem:{code}"
    assert body["title"] and body["detail"]
    return body


def test_a_merchant_submits_a_demand_and_staff_take_it_over_http(front):
    gw, tickets, merchant_id = front
    merchant = gw.merchant(merchant_id)
    submitted = merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id), timeout=15)
    assert submitted.status_code == 200, submitted.text
    ticket = submitted.json()
    assert ticket["status"] == "submitted" and ticket["reference"].startswith("DM-")

    read = merchant.get(f"{gw.url}/v1/tickets/{ticket['ticket_id']}", timeout=15)
    assert read.status_code == 200 and read.json()["ticket_id"] == ticket["ticket_id"]
    by_reference = merchant.get(f"{gw.url}/v1/ticket-references/{ticket['reference']}", timeout=15)
    assert by_reference.json()["ticket_id"] == ticket["ticket_id"]

    handler = tickets.seed_person(["staff"])
    staff = gw.session(gw.token("staff", ["staff"], ["wholesale_city"], subject=handler))
    accepted = staff.post(f"{gw.url}/v1/tickets/{ticket['ticket_id']}/accept", timeout=15)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["responsible_id"] == handler

    listed = staff.get(f"{gw.url}/v1/tickets", params={"status": "accepted", "limit": 5}, timeout=15)
    assert listed.status_code == 200, listed.text
    assert [t["ticket_id"] for t in listed.json()["items"]] == [ticket["ticket_id"]]


def test_the_downstream_call_carries_the_callers_identity_not_the_gateways(front):
    gw, tickets, merchant_id = front
    ticket = gw.merchant(merchant_id).post(f"{gw.url}/v1/tickets", json=demand(merchant_id), timeout=15).json()
    # The merchant may submit but not accept: the tickets service refuses *the merchant*.
    refused = gw.merchant(merchant_id).post(f"{gw.url}/v1/tickets/{ticket['ticket_id']}/accept", timeout=15)
    assert "merchant" in _problem(refused, 403, "forbidden")["detail"]
    # Another merchant cannot read it.
    other = gw.merchant(str(uuid.uuid4()), subject="owner-2").get(f"{gw.url}/v1/tickets/{ticket['ticket_id']}")
    assert other.status_code in (403, 404)
    # No token at all, a malformed header, a forged token: 401, from the service.
    _problem(gw.request("GET", f"/v1/tickets/{ticket['ticket_id']}", token=""), 401, "unauthenticated")
    _problem(gw.session("", Authorization="Basic YWRtaW46YWRtaW4=").get(f"{gw.url}/v1/tickets"), 401, "unauthenticated")
    forged = gw.token()[:-4] + "AAAA"
    _problem(gw.request("GET", "/v1/tickets", token=forged), 401, "unauthenticated")


def test_a_gateway_without_any_key_serves_all_the_same(gateway, tickets):
    """The gateway holds no power to act: no key to mint tokens with, and no key set either (it
    verifies nothing; an empty TOKEN_PUBLIC_KEYS would stop any process that loaded one)."""
    gw = gateway(TOKEN_PUBLIC_KEYS="", SIGNING_KEY="", PEOPLE_SIGNING_KEY="")
    merchant_id = tickets.seed_merchant()
    answer = gw.merchant(merchant_id).post(f"{gw.url}/v1/tickets", json=demand(merchant_id), timeout=15)
    assert answer.status_code == 200, answer.text


def test_every_refusal_is_a_problem_document_with_its_status(front):
    gw, tickets, merchant_id = front
    merchant = gw.merchant(merchant_id)
    url = f"{gw.url}/v1/tickets"
    invalid = _problem(
        merchant.post(url, json={**demand(merchant_id), "title": "", "rating": 9}), 400, "validation_error"
    )
    assert set(invalid["errors"]) >= {"title", "rating"}
    assert invalid["instance"] == "/v1/tickets"
    _problem(merchant.get(f"{url}/{uuid.uuid4()}"), 404, "not_found")
    _problem(merchant.get(f"{url}/not-a-uuid"), 400, "validation_error")
    ticket = merchant.post(url, json=demand(merchant_id)).json()
    closed_too_early = merchant.post(f"{url}/{ticket['ticket_id']}/close", json={"rating": 5})
    _problem(closed_too_early, 409, "conflict")
    # What the HTTP layer refuses before any service is asked.
    _problem(
        merchant.post(url, data="{not json", headers={"Content-Type": "application/json"}), 400, "validation_error"
    )
    _problem(merchant.post(url, data="[1, 2]", headers={"Content-Type": "application/json"}), 400, "validation_error")
    _problem(
        merchant.post(url, data="title=x", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        415,
        "unsupported_media_type",
    )
    huge = json.dumps({**demand(merchant_id), "description": "很" * 600_000})
    _problem(merchant.post(url, data=huge, headers={"Content-Type": "application/json"}), 413, "payload_too_large")
    body_and_query = merchant.post(url, params={"title": "x"}, json=demand(merchant_id))
    _problem(body_and_query, 400, "validation_error")
    contradicting = merchant.post(f"{url}/{ticket['ticket_id']}/cancel", json={"ticket_id": str(uuid.uuid4())})
    _problem(contradicting, 400, "validation_error")
    unknown_filter = merchant.get(url, params={"colour": "red"})
    assert "colour" in _problem(unknown_filter, 400, "validation_error")["errors"]
    _problem(merchant.get(f"{gw.url}/v1/no-such-thing"), 404, "not_found")
    not_allowed = _problem(merchant.delete(url), 405, "method_not_allowed")
    assert not_allowed["instance"] == "/v1/tickets"
    assert set(merchant.delete(url).headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


def test_the_same_idempotency_key_answers_again_and_a_different_body_is_a_conflict(front):
    gw, tickets, merchant_id = front
    merchant = gw.merchant(merchant_id)
    key = {"Idempotency-Key": f"crm-{uuid.uuid4()}"}
    first = merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id), headers=key)
    again = merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id), headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    listed = merchant.get(f"{gw.url}/v1/tickets", params={"merchant_id": merchant_id}).json()["items"]
    assert len(listed) == 1  # one demand, not two
    other_body = merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id, title="另一件事"), headers=key)
    assert "different call" in _problem(other_body, 409, "conflict")["detail"]
    # A key is per caller: another merchant's identical key is a call of its own.
    neighbour_id = tickets.seed_merchant(name="隔壁茶叶店")
    theirs = gw.merchant(neighbour_id, subject="owner-2").post(
        f"{gw.url}/v1/tickets", json=demand(neighbour_id), headers=key
    )
    assert theirs.status_code == 200 and theirs.json()["ticket_id"] != first.json()["ticket_id"]
    too_long = merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id), headers={"Idempotency-Key": "k" * 129})
    assert "Idempotency-Key" in _problem(too_long, 400, "validation_error")["errors"]
    not_ascii = merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id), headers={"Idempotency-Key": "k\tk"})
    _problem(not_ascii, 400, "validation_error")


def test_query_strings_are_typed_by_the_methods_schema(front):
    gw, tickets, merchant_id = front
    merchant = gw.merchant(merchant_id)
    for _ in range(3):
        merchant.post(f"{gw.url}/v1/tickets", json=demand(merchant_id))
    page = merchant.get(f"{gw.url}/v1/tickets", params={"limit": "2", "overdue": "false"}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = merchant.get(f"{gw.url}/v1/tickets", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(rest["items"]) == 1
    _problem(merchant.get(f"{gw.url}/v1/tickets", params={"limit": "two"}), 400, "validation_error")
    _problem(merchant.get(f"{gw.url}/v1/tickets", params={"limit": "100000"}), 400, "validation_error")


def test_correlation_ids_come_back_and_unreachable_or_slow_services_are_503_and_504(gateway, front):
    gw, tickets, merchant_id = front
    answer = gw.merchant(merchant_id).get(f"{gw.url}/v1/tickets", headers={"X-Correlation-Id": "crm-trace-7"})
    assert answer.headers["X-Correlation-Id"] == "crm-trace-7"
    # No registry runs in this test: nobody consumes its RPC queue.
    _problem(gw.request("GET", "/v1/districts"), 503, "unavailable")
    hasty = gateway(GATEWAY_RPC_TIMEOUT=0.000001)
    _problem(hasty.request("GET", "/v1/tickets"), 504, "timeout")
    # Each operation is counted with its outcome, as the services count their calls.
    metrics = gw.request("GET", "/metrics", token="").text
    counted = 'alliance_http_requests_total{operation="tickets__list_tickets",outcome="ok",service="gateway"} 1.0'
    assert counted in metrics
    assert 'operation="registry__list_districts",outcome="ServiceUnavailable"' in metrics
    assert "alliance_http_request_duration_seconds_bucket" in metrics


def test_the_document_and_the_reference_page_are_served(gateway):
    gw = gateway()
    served = gw.request("GET", "/openapi.json", token="")
    assert served.status_code == 200
    document = served.json()
    assert document["openapi"] == "3.1.0"
    assert "/v1/tickets/{ticket_id}/accept" in document["paths"]
    page = gw.request("GET", "/docs", token="")
    assert page.status_code == 200 and 'spec-url="/openapi.json"' in page.text
    script = gw.request("GET", "/docs/redoc.standalone.js", token="")
    assert script.status_code == 200 and len(script.content) > 1_000_000
    live = wait_until(lambda: gw.request("GET", "/health/ready", token="").json(), timeout=10)
    assert live["broker"] == "ok" and "database" not in live
