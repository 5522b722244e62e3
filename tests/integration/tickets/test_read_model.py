"""The tickets service keeps its own copy of the registry's facts from the registry's events."""

import uuid
from datetime import UTC, date, datetime

import pytest

from alliance_platform.errors import Conflict
from tests.integration.tickets.conftest import demand
from tests.support.helpers import deliver, query


def publish(tickets, event_type, payload, handler):
    deliver(tickets.container, handler, "registry", event_type, payload)


def merchant(merchant_id, version, **changes):
    return {
        "merchant_id": merchant_id,
        "version": version,
        "shop_name": "鑫盛五金",
        "district_id": "wholesale_city",
        "unit_no": None,
        "category": "五金",
        "credit_code": "91371400MA3C8XYU13",
        "contact_phone": None,
        "online_shop_url": None,
        "owner_id": None,
        "status": "active",
        "changed": ["shop_name"],
        "updated_at": datetime.now(UTC),
        **changes,
    }


def test_a_newer_merchant_version_wins_whatever_the_order_of_arrival(tickets):
    merchant_id = str(uuid.uuid4())
    publish(
        tickets, "merchant_updated", merchant(merchant_id, 3, shop_name="新名字"), "handle_registry_merchant_updated"
    )
    publish(
        tickets, "merchant_updated", merchant(merchant_id, 2, shop_name="旧名字"), "handle_registry_merchant_updated"
    )
    registered = {
        k: v for k, v in merchant(merchant_id, 1).items() if k not in ("version", "owner_id", "changed", "updated_at")
    }
    publish(
        tickets,
        "merchant_registered",
        {**registered, "registered_at": datetime.now(UTC)},
        "handle_registry_merchant_registered",
    )
    row = query(
        tickets.database, "SELECT shop_name, version FROM merchant_directory WHERE merchant_id = %s", (merchant_id,)
    )
    assert row == [{"shop_name": "新名字", "version": 3}]

    status = {
        "merchant_id": merchant_id,
        "district_id": "wholesale_city",
        "version": 4,
        "old_status": "active",
        "status": "closed",
        "reason": "停业",
        "changed_at": datetime.now(UTC),
    }
    publish(tickets, "merchant_status_changed", status, "handle_registry_merchant_status_changed")
    with tickets.admin() as alliance:
        with pytest.raises(Conflict, match="closed"):
            alliance.tickets.submit_ticket(**demand(merchant_id))


def test_people_and_pairings_feed_routing(tickets):
    merchant_id = tickets.seed_merchant()
    person_id = str(uuid.uuid4())
    person = {
        "person_id": person_id,
        "version": 1,
        "name": "李党员",
        "mobile": "13912345678",
        "roles": ["party_member"],
        "skills": [],
        "language": "zh-CN",
        "district_id": "wholesale_city",
        "has_id_card": False,
        "registered_at": datetime.now(UTC),
    }
    publish(tickets, "person_registered", person, "handle_registry_person_registered")
    pairing = {
        "pairing_id": str(uuid.uuid4()),
        "person_id": person_id,
        "merchant_id": merchant_id,
        "district_id": "wholesale_city",
        "started_on": date(2026, 3, 1),
    }
    publish(tickets, "pairing_started", pairing, "handle_registry_pairing_started")
    with tickets.admin() as alliance:
        first = alliance.tickets.submit_ticket(**demand(merchant_id, category="party_affairs"))
        assert alliance.tickets.get_ticket(ticket_id=first["ticket_id"])["proposed_id"] == person_id
        publish(
            tickets,
            "pairing_ended",
            {**pairing, "ended_on": date(2026, 6, 1), "reason": None},
            "handle_registry_pairing_ended",
        )
        second = alliance.tickets.submit_ticket(**demand(merchant_id, category="party_affairs"))
        assert alliance.tickets.get_ticket(ticket_id=second["ticket_id"])["team"] == "party-branches"
    # A late start after the end does not bring the pairing back.
    publish(tickets, "pairing_started", pairing, "handle_registry_pairing_started")
    assert query(tickets.database, "SELECT active FROM pairing_directory") == [{"active": False}]


def test_the_owner_sees_on_the_timeline_whether_the_merchant_was_reached(tickets):
    merchant_id = tickets.seed_merchant()
    with tickets.merchant(merchant_id) as shop:
        ticket = shop.tickets.submit_ticket(**demand(merchant_id))
    [submitted] = query(tickets.database, "SELECT event_id::text FROM outbox WHERE event_type = 'ticket_submitted'")
    outcome = {
        "delivery_id": "1",
        "notification_id": "1",
        "event_id": submitted["event_id"],
        "source": "tickets.ticket_submitted",
        "rule": "ticket_received",
        "recipient": f"merchant:{merchant_id}",
        "channel": "sms",
        "attempts": 1,
        "via_digest": None,
    }

    def tell(event_type, payload, handler):
        deliver(tickets.container, handler, "notifications", event_type, payload)

    tell(
        "notification_delivered",
        {**outcome, "sent_at": datetime.now(UTC)},
        "handle_notifications_notification_delivered",
    )
    tell(
        "notification_failed",
        {**outcome, "channel": "wecom", "error": "robot offline", "failed_at": datetime.now(UTC)},
        "handle_notifications_notification_failed",
    )
    tell(
        "notification_delivered",
        {**outcome, "source": "events.activity_published", "sent_at": datetime.now(UTC)},
        "handle_notifications_notification_delivered",
    )
    entries = [e for e in tickets.timeline(ticket["ticket_id"]) if e["actor"] == "system:notifications"]
    assert [(e["kind"], e["text"], e["visible_to_merchant"]) for e in entries] == [
        ("notified", "已通过sms通知merchant", False),
        ("notification_failed", "通过wecom通知merchant失败：robot offline", False),
    ]
