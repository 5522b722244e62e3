"""Delivery: exactly once per (event, recipient, channel) whatever is redelivered; retries with
backoff; dead deliveries an operator sees and sends again; a provider that fails or hangs never
holds up the others; the per-channel rate limit; a registry outage delays, never loses."""

from datetime import timedelta

from nameko.testing.services import entrypoint_waiter

from alliance_platform.config import service_class
from tests.support.helpers import query


def test_a_redelivered_event_notifies_once(post):
    shop = post.register_merchant()
    event = post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    for _ in range(2):
        post.publish("tickets", "ticket_resolved", event_id=event["event_id"], merchant_id=shop["merchant_id"])
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    assert sorted(d["channel"] for d in post.deliveries()) == ["inbox", "sms"]
    assert len(post.http.received("/sms")) == 1
    assert query(post.database, "SELECT count(*) AS n FROM notifications")[0]["n"] == 1


def test_two_rules_naming_the_same_person_give_one_delivery_per_channel(post):
    handler = post.register_person(roles=["staff"])
    # Proposed to them (accepted: false) and reassigned with a reason: both rules fire.
    post.publish("tickets", "ticket_assigned", example=2, accepted=False, assignee_id=handler["person_id"])
    rules = {row["rule"] for row in query(post.database, "SELECT rule FROM notifications")}
    assert rules == {"ticket_proposed_to_assignee", "ticket_reassigned_to_assignee"}
    assert sorted((d["recipient"], d["channel"]) for d in post.deliveries()) == [
        (f"person:{handler['person_id']}", "inbox"),
        (f"person:{handler['person_id']}", "wecom"),
    ]


def test_failures_are_retried_with_exponential_backoff(post):
    post.http.fail("/sms", status=503, times=2)
    post.publish("tickets", "ticket_resolved", merchant_id=post.register_merchant()["merchant_id"])
    first = post.wait_for("d.channel = 'sms' AND d.status = 'failed'")[0]
    assert first["attempts"] == 1 and first["last_error"].startswith("503")
    assert first["due_at"] - first["created_at"] >= timedelta(seconds=30)
    post.time.advance(seconds=31)
    post.wait_for("d.channel = 'sms' AND d.attempts = 2")
    post.time.advance(seconds=61)
    sent = post.wait_for("d.channel = 'sms' AND d.status = 'sent'")[0]
    trail = query(
        post.database,
        "SELECT attempt, at, outcome FROM delivery_attempts WHERE delivery_id = %s ORDER BY id",
        (sent["id"],),
    )
    assert [(a["attempt"], a["outcome"]) for a in trail] == [(1, "failed"), (2, "failed"), (3, "sent")]
    assert trail[1]["at"] - trail[0]["at"] >= timedelta(seconds=30)
    assert trail[2]["at"] - trail[1]["at"] >= timedelta(seconds=60), "the second wait is twice the first"


def test_after_the_last_attempt_a_delivery_is_dead_visible_and_can_be_sent_again(start_post):
    post = start_post(DELIVERY_MAX_ATTEMPTS=2, DELIVERY_BACKOFF_FIRST=1)
    post.http.fail("/sms", status=500, times=None)
    post.publish("tickets", "ticket_resolved", merchant_id=post.register_merchant()["merchant_id"])
    post.wait_for("d.channel = 'sms' AND d.status = 'failed'")
    post.time.advance(seconds=2)
    dead = post.wait_for("d.channel = 'sms' AND d.status = 'dead'")[0]
    failed = post.wait_published("notification_failed")
    assert failed[0]["delivery_id"] == str(dead["id"]) and failed[0]["attempts"] == 2
    with post.operator() as operator:
        listed = operator.notifications.list_deliveries(status="dead")["items"]
        assert [d["id"] for d in listed] == [dead["id"]] and listed[0]["address"].startswith("139****")
        post.http.clear("/sms")
        again = operator.notifications.retry_delivery(delivery_id=dead["id"])
        assert again["status"] == "pending" and again["attempts"] == 0
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    assert post.wait_published("notification_delivered")[0]["delivery_id"] == str(dead["id"])


def test_a_refusal_is_dead_at_once(post):
    post.http.answer("/sms", {"error": "invalid number"}, status=400)
    post.publish("tickets", "ticket_resolved", merchant_id=post.register_merchant()["merchant_id"])
    dead = post.wait_for("d.channel = 'sms' AND d.status = 'dead'")[0]
    assert dead["attempts"] == 1 and "invalid number" in dead["last_error"]


def test_a_provider_that_hangs_holds_up_neither_other_messages_nor_other_channels(post):
    hanging = ("13900000301", "13900000303")
    for phone in (*hanging, "13900000302"):
        post.register_merchant(phone=phone)
    for phone in hanging:
        post.http.stall("/sms", seconds=3, match=phone)
    post.publish("events", "activity_published", audience={"kinds": ["merchants"], "districts": ["wholesale_city"]})
    post.publish("tickets", "ticket_submitted")  # and a message to the district's WeCom group
    timed_out = post.wait_for("d.channel = 'sms' AND d.status = 'failed'", count=2)
    assert {d["address"] for d in timed_out} == set(hanging)
    assert {d["last_error"] for d in timed_out} == {"no answer within 1s"}
    assert post.deliveries("d.address = '13900000302'")[0]["status"] == "sent"
    arrived = {r.body.get("to") or r.path: r.at for r in post.http.received()}
    sms = [arrived[phone] for phone in ("13900000301", "13900000302", "13900000303")]
    # One after another, each hanging send would hold the next for its whole 1 s timeout.
    assert max(sms) - min(sms) < 0.8, "the three sends of the tick overlap"
    assert arrived["/wecom/wholesale_city"] - min(sms) < 0.8, "WeCom has its own sender"


def test_the_rate_limit_of_a_channel_holds(start_post):
    post = start_post(RATE_LIMITS={"sms": {"per_second": 0.001, "burst": 3}})
    for _ in range(5):
        post.register_merchant(district="aodele")
    post.publish("events", "activity_published", audience={"kinds": ["merchants"], "districts": ["aodele"]})
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'", count=3)
    post.ticks("send_sms")  # the sender looked again: nothing more may go
    assert len(post.deliveries("d.channel = 'sms' AND d.status = 'sent'")) == 3
    post.time.advance(seconds=1000)  # one more token
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'", count=4)
    post.ticks("send_sms")
    assert len(post.http.received("/sms")) == 4


def test_a_registry_outage_delays_the_fan_out_and_it_resumes_where_it_stopped(post, container_factory):
    shops = [post.register_merchant(district="outlets") for _ in range(3)]
    registry_config = post.registry.config
    post.registry.stop()
    post.publish("events", "activity_published", audience={"kinds": ["merchants"], "districts": ["outlets"]})
    [waiting] = query(post.database, "SELECT * FROM notifications")
    assert waiting["status"] == "resolving" and "registry" in waiting["last_error"] and post.deliveries() == []

    registry = container_factory(service_class("registry"), registry_config)
    registry.start()
    with entrypoint_waiter(post.container, "resume_fanouts", timeout=15):
        post.time.advance(seconds=6)  # the first backoff is 5 s
    post.wait_for("d.channel = 'inbox'", count=3)
    [done] = query(post.database, "SELECT * FROM notifications")
    assert done["status"] == "resolved" and done["recipients"] == 3 and done["attempts"] == 1
    assert {d["recipient"] for d in post.deliveries("d.channel = 'sms'")} == {
        f"merchant:{s['merchant_id']}" for s in shops
    }
