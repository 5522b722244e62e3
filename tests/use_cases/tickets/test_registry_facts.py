"""What the service learns from other services' events: the registry's merchants, people and
pairings (kept by version, whatever the order of arrival), and whether the people a ticket's events
concern were reached."""

import uuid
from datetime import UTC, datetime

import pytest

from alliance_platform.errors import Conflict
from alliance_tickets import use_cases
from tests.use_cases.tickets.conftest import ADMIN, demand


def test_a_newer_merchant_version_wins_whatever_the_order_of_arrival(tickets):
    merchant_id = str(uuid.uuid4())
    fact = {"merchant_id": merchant_id, "district_id": "wholesale_city", "status": "active"}
    tickets.learn(use_cases.merchant_updated, {**fact, "shop_name": "新名字", "version": 3})
    tickets.learn(use_cases.merchant_updated, {**fact, "shop_name": "旧名字", "version": 2})
    tickets.learn(use_cases.merchant_registered, {**fact, "shop_name": "最初"})
    tickets.learn(use_cases.merchant_status_changed, {**fact, "status": "closed", "version": 3})
    row = tickets.query("SELECT shop_name, status, version FROM merchant_directory")
    assert row == [{"shop_name": "新名字", "status": "active", "version": 3}]
    tickets.learn(use_cases.merchant_status_changed, {**fact, "status": "closed", "version": 4})
    with pytest.raises(Conflict, match="closed"):
        tickets.call(use_cases.submit_ticket, ADMIN, **demand(merchant_id))


def test_a_pairing_ended_before_its_start_arrived_stays_ended(tickets):
    pairing = {"pairing_id": str(uuid.uuid4()), "person_id": "p-1", "merchant_id": str(uuid.uuid4())}
    tickets.learn(use_cases.pairing_ended, pairing)
    tickets.learn(use_cases.pairing_started, pairing)
    assert tickets.query("SELECT active FROM pairing_directory") == [{"active": False}]


def test_people_keep_their_newest_version(tickets):
    person = {"person_id": "p-7", "district_id": "outlets", "roles": ["volunteer"], "skills": ["法律"]}
    tickets.learn(use_cases.person_changed, {**person, "name": "新", "version": 2})
    tickets.learn(use_cases.person_changed, {**person, "name": "旧", "version": 1})
    assert tickets.query("SELECT name, version FROM people_directory") == [{"name": "新", "version": 2}]


def test_the_owner_sees_whether_the_merchant_was_reached_for_this_services_events_only(tickets):
    merchant = tickets.merchant()
    ticket = tickets.submitted(merchant)
    [submitted] = tickets.query("SELECT event_id::text FROM outbox WHERE event_type = 'ticket_submitted'")
    outcome = {
        "delivery_id": "1",
        "event_id": submitted["event_id"],
        "source": "tickets.ticket_submitted",
        "recipient": f"merchant:{merchant}",
        "channel": "sms",
        "attempts": 1,
    }
    sent_at = datetime(2026, 12, 1, 2, 5, tzinfo=UTC)
    tickets.learn(use_cases.notification_delivered, {**outcome, "sent_at": sent_at})
    tickets.learn(
        use_cases.notification_failed, {**outcome, "channel": "wecom", "error": "robot offline", "failed_at": sent_at}
    )
    tickets.learn(
        use_cases.notification_delivered, {**outcome, "source": "events.activity_published", "sent_at": sent_at}
    )
    tickets.learn(
        use_cases.notification_delivered, {**outcome, "event_id": str(uuid.uuid4()), "sent_at": sent_at}
    )  # an event the outbox no longer knows
    lines = [line for line in tickets.timeline(ticket["id"]) if line["actor"] == "system:notifications"]
    assert [(line["kind"], line["text"], line["visible_to_merchant"], line["at"]) for line in lines] == [
        ("notified", "已通过sms通知merchant", False, sent_at),
        ("notification_failed", "通过wecom通知merchant失败：robot offline", False, sent_at),
    ]
    assert lines[0]["data"] == {k: outcome[k] for k in ("delivery_id", "channel", "recipient", "source", "attempts")}
