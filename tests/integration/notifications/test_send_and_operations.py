"""``send`` for other internal systems (once per idempotency key; bad input refused with nothing
written), and what operators see: delivery status, lists, retries, figures."""

import uuid

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.support.helpers import query


def _count(post, table):
    return query(post.database, f"SELECT count(*) AS n FROM {table}")[0]["n"]


def test_a_system_sends_to_people_and_merchants_once_per_idempotency_key(post):
    person, shop = post.register_person(roles=["staff"]), post.register_merchant()
    message = {
        "idempotency_key": "outage-2026-06-05",
        "person_ids": [person["person_id"]],
        "merchant_ids": [shop["merchant_id"]],
        "template": "announcement",
        "variables": {"heading": "停电通知", "text": "6月5日 22:00-24:00 B区检修停电。"},
        "urgency": "urgent",
    }
    with post.system("crm") as crm:
        first = crm.notifications.send(**message)
        again = crm.notifications.send(**message)
        with pytest.raises(Conflict, match="already used for another message"):
            crm.notifications.send(**{**message, "variables": {"heading": "停水通知", "text": "明日停水"}})
        status = crm.notifications.delivery_status(idempotency_key="outage-2026-06-05")
    assert first == again and first["recipients"] == 2 and first["status"] == "resolved"
    assert first["deliveries"] == {"inbox": 2, "sms": 1, "wecom": 1}
    assert _count(post, "notifications") == 1 and _count(post, "deliveries") == 4
    assert status["notifications"][0]["rule"] == "send" and status["deliveries"]["inbox"] == {"sent": 2}
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    assert post.http.received("/sms")[0].body["text"] == "【红星德百】停电通知：6月5日 22:00-24:00 B区检修停电。"


def test_a_plain_message_needs_a_title_and_a_body_and_may_name_its_channels(post):
    shop = post.register_merchant()
    with post.system("crm") as crm:
        sent = crm.notifications.send(
            idempotency_key="k-1",
            merchant_ids=[shop["merchant_id"]],
            title="提醒",
            body="请更新营业执照",
            channels=["inbox"],
        )
    assert sent["deliveries"] == {"inbox": 1}
    with post.merchant(shop["merchant_id"]) as me:
        assert me.notifications.list_inbox()["items"][0]["body"] == "请更新营业执照"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"person_ids": ["00000000-0000-4000-8000-000000000000"]}, "person_ids"),  # not in the register
        ({"person_ids": []}, "person_ids"),
        ({"template": "no_such_template", "title": None, "body": None}, "template"),
        ({"template": "ticket_received", "title": None, "body": None}, "template"),  # an event's template
        ({"template": "announcement", "variables": {"heading": "x"}, "title": None, "body": None}, "variables"),
        ({"body": "   "}, "body"),
        ({"title": None}, "title"),
        ({"category": "gossip"}, "category"),
        ({"channels": ["pager"]}, "channels"),
    ],
)
def test_bad_sends_are_refused_and_nothing_is_written(post, change, field):
    person = post.register_person()
    message = {"idempotency_key": "k", "person_ids": [person["person_id"]], "title": "标题", "body": "内容"}
    with post.system("crm") as crm, pytest.raises(ValidationError) as caught:
        crm.notifications.send(**{**message, **change})
    assert field in caught.value.fields
    assert _count(post, "notifications") == 0 and _count(post, "deliveries") == 0


def test_only_internal_systems_send(post):
    person = post.register_person()
    for caller in (post.staff(person_id=person["person_id"]), post.operator()):
        with caller as someone, pytest.raises(Forbidden):
            someone.notifications.send(idempotency_key="k", person_ids=[person["person_id"]], title="t", body="b")


def test_operators_list_and_filter_deliveries_and_see_every_attempt(post):
    shop, other = post.register_merchant(), post.register_merchant()
    event = post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    post.publish("tickets", "ticket_resolved", merchant_id=other["merchant_id"])
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'", count=2)
    with post.operator() as operator:
        everything = operator.notifications.list_deliveries(limit=3)
        rest = operator.notifications.list_deliveries(limit=3, cursor=everything["next_cursor"])
        assert len(everything["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None
        sms = operator.notifications.list_deliveries(channel="sms", recipient=f"merchant:{shop['merchant_id']}")
        [one] = sms["items"]
        assert one["status"] == "sent" and one["address"].startswith("139****") and one["rule"] == "ticket_resolved"
        by_event = operator.notifications.list_deliveries(event_id=str(uuid.UUID(event["event_id"])))["items"]
        assert {d["channel"] for d in by_event} == {"inbox", "sms"}
        detail = operator.notifications.delivery_status(delivery_id=one["id"])
        assert [(a["attempt"], a["outcome"]) for a in detail["attempts_made"]] == [(1, "sent")]
        with pytest.raises(Conflict, match="only failed or dead"):
            operator.notifications.retry_delivery(delivery_id=one["id"])
        with pytest.raises(NotFound):
            operator.notifications.delivery_status(delivery_id=999999)
        stats = operator.notifications.stats()
    assert stats["deliveries"] == {"inbox": {"sent": 2}, "sms": {"sent": 2}} and stats["dead"] == 0
    assert stats["inbox_unread"] == 2 and stats["channels_configured"] == ["dingtalk", "email", "sms", "wecom"]


def test_people_and_merchants_do_not_see_delivery_status(post):
    shop = post.register_merchant()
    with post.merchant(shop["merchant_id"]) as me:
        for call in (me.notifications.list_deliveries, me.notifications.stats):
            with pytest.raises(Forbidden):
                call()
        with pytest.raises(Forbidden):
            me.notifications.retry_delivery(delivery_id=1)
