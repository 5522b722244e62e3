"""The sender's tick and what operators do and see: each answer moves its delivery (sent; failed,
due again after backoff; dead) and its end is announced; the rate limit takes what is due and
gives back what it did not use; digests carry a person's low-urgency messages and end with them;
a failed or dead delivery can be sent again, nothing else can; the figures."""

import dataclasses
from datetime import datetime, timedelta

import pytest

from alliance_notifications import queries, timers, use_cases
from alliance_notifications.domain.timing import Backoff, TokenBucket
from alliance_platform.errors import Conflict, NotFound
from tests.support.http_sink import HttpSink
from tests.use_cases.notifications.conftest import OPERATOR, SH, on_sinks, shop


@pytest.fixture
def http():
    sink = HttpSink()
    yield sink
    sink.close()


@pytest.fixture
def sending(post, http):
    """``post`` sending to the HTTP sink."""
    post.settings = on_sinks(http)
    return post


def _resolved(post, merchant=None):
    post.notify("tickets", "ticket_resolved", merchant_id=merchant or post.registry.merchant())
    return post.deliveries("d.channel = 'sms'")[-1]


def test_a_sent_message_is_recorded_with_its_answer_and_announced(sending, http):
    sms = _resolved(sending)
    assert sending.tick(timers.send, "sms") == {"sent": 1, "failed": 0, "dead": 0}
    [request] = http.received("/sms")
    assert request.body["reference"] == str(sms["id"]) and request.body["to"] == sms["address"]
    [sent] = sending.deliveries("d.channel = 'sms'")
    assert (sent["status"], sent["attempts"], sent["provider_answer"][:3]) == ("sent", 1, "200")
    assert sent["sent_at"] >= sending.now
    [announced] = sending.payloads("notification_delivered")
    assert (announced["delivery_id"], announced["channel"], announced["attempts"]) == (str(sms["id"]), "sms", 1)
    assert announced["recipient"] == sms["recipient"] and announced["via_digest"] is None
    assert sending.tick(timers.send, "sms") == {}, "nothing is sent twice"


def test_a_failure_is_due_again_after_backoff_and_every_attempt_is_kept(sending, http):
    http.fail("/sms", status=503, times=2)
    _resolved(sending)
    assert sending.tick(timers.send, "sms") == {"sent": 0, "failed": 1, "dead": 0}
    [failed] = sending.deliveries("d.channel = 'sms'")
    assert failed["due_at"] - sending.now >= timedelta(seconds=30) and failed["last_error"].startswith("503")
    assert sending.tick(timers.send, "sms") == {}, "not due yet"
    sending.advance(seconds=31)
    assert sending.tick(timers.send, "sms")["failed"] == 1
    [again] = sending.deliveries("d.channel = 'sms'")
    assert again["attempts"] == 2
    assert again["due_at"] - sending.now >= timedelta(seconds=60), "the second wait is twice the first"
    sending.advance(seconds=61)
    assert sending.tick(timers.send, "sms")["sent"] == 1
    trail = sending.query("SELECT attempt, outcome FROM delivery_attempts ORDER BY id")
    assert [(a["attempt"], a["outcome"]) for a in trail] == [(1, "failed"), (2, "failed"), (3, "sent")]
    assert sending.payloads("notification_failed") == [], "a failure on the way is no end"


def test_a_refusal_is_dead_at_once_and_announced(sending, http):
    http.answer("/sms", {"error": "invalid number"}, status=400)
    sms = _resolved(sending)
    assert sending.tick(timers.send, "sms") == {"sent": 0, "failed": 0, "dead": 1}
    [announced] = sending.payloads("notification_failed")
    assert announced["delivery_id"] == str(sms["id"]) and "invalid number" in announced["error"]


def test_after_the_last_attempt_a_delivery_is_dead(post, http):
    post.settings = on_sinks(http, backoff=Backoff(1, 1, max_attempts=2))
    http.fail("/sms", status=500, times=None)
    _resolved(post)
    post.tick(timers.send, "sms")
    post.advance(seconds=2)
    assert post.tick(timers.send, "sms") == {"sent": 0, "failed": 0, "dead": 1}
    assert post.payloads("notification_failed")[0]["attempts"] == 2


def test_a_channel_without_a_provider_sends_nothing_and_its_deliveries_wait(post):
    post.settings = dataclasses.replace(post.settings, providers={})
    _resolved(post)
    assert post.tick(timers.send, "sms") == {}
    assert post.deliveries("d.channel = 'sms'")[0]["status"] == "pending"


def test_the_rate_limit_takes_only_what_its_bucket_holds_and_gives_back_what_it_did_not_use(post, http):
    post.settings = on_sinks(http, buckets={"sms": TokenBucket(rate=0.001, burst=3)})
    for _ in range(5):
        _resolved(post)
    assert post.tick(timers.send, "sms")["sent"] == 3
    assert post.tick(timers.send, "sms") == {}, "the bucket is empty"
    post.advance(seconds=1000)  # one more token
    assert post.tick(timers.send, "sms")["sent"] == 1
    assert len(http.received("/sms")) == 4
    post.advance(seconds=3000)  # three tokens, one message left: two go back to the bucket
    assert post.tick(timers.send, "sms")["sent"] == 1
    [bucket] = post.query("SELECT tokens FROM rate_buckets WHERE channel = 'sms'")
    assert round(bucket["tokens"]) == 2


def test_urgent_messages_go_first(post, http):
    post.settings = on_sinks(http, buckets={"sms": TokenBucket(rate=0.001, burst=1)})
    _resolved(post)
    secretary = post.registry.person(roles=["branch_secretary"])
    post.notify("tickets", "ticket_escalated", escalated_to_id=secretary)
    post.tick(timers.send, "sms")
    [sent] = post.deliveries("d.status = 'sent' AND d.channel = 'sms'")
    assert sent["recipient"] == f"person:{secretary}"


def _digest_day(post, merchant):
    post.call(use_cases.set_preferences, shop(merchant), digest=True)
    post.notify("registry", "honour_awarded", merchant_id=merchant)
    post.notify("events", "registration_waitlisted", merchant_id=merchant)
    post.now = datetime(2026, 6, 2, 18, 0, 1, tzinfo=SH)


def test_a_digest_carries_a_persons_waiting_messages_and_they_end_as_it_ends(sending, http):
    merchant = sending.registry.merchant()
    _digest_day(sending, merchant)
    assert sending.tick(timers.send, "sms") == {}, "digested messages wait for their digest"
    assert sending.tick(timers.make_digests) == 1
    covered = sending.deliveries("d.status = 'batched'")
    [digest] = sending.deliveries("n.source = 'digest'")
    assert {d["digest_id"] for d in covered} == {digest["id"]} and len(covered) == 2
    assert sending.tick(timers.make_digests) == 0, "a message goes in one digest"
    sending.tick(timers.send, "sms")
    [request] = http.received("/sms")
    assert request.body["text"].startswith("【红星德百】您今日有2条新通知") and request.body["reference"] == str(
        digest["id"]
    )
    assert {d["status"] for d in sending.deliveries("d.digest_id = %s", (digest["id"],))} == {"sent"}
    announced = sending.payloads("notification_delivered")
    assert sorted(e["via_digest"] or "" for e in announced) == ["", str(digest["id"]), str(digest["id"])]


def test_an_operator_sends_a_dead_digest_again_and_it_takes_its_messages_back(post, http):
    post.settings = on_sinks(http)
    http.answer("/sms", {"error": "blocked"}, status=403)
    merchant = post.registry.merchant()
    _digest_day(post, merchant)
    post.tick(timers.make_digests)
    post.tick(timers.send, "sms")
    [digest] = post.deliveries("n.source = 'digest'")
    assert {d["status"] for d in post.deliveries("d.digest_id = %s", (digest["id"],))} == {"dead"}
    again = post.call(use_cases.retry_delivery, OPERATOR, delivery_id=digest["id"])
    assert (again["status"], again["attempts"]) == ("pending", 0)
    assert {d["status"] for d in post.deliveries("d.digest_id = %s", (digest["id"],))} == {"batched"}
    post.tick(timers.send, "sms")
    assert {d["status"] for d in post.deliveries("d.digest_id = %s", (digest["id"],))} == {"sent"}


def test_only_failed_or_dead_deliveries_are_sent_again(sending, http):
    sms = _resolved(sending)
    error = sending.refused(Conflict, use_cases.retry_delivery, OPERATOR, delivery_id=sms["id"])
    assert "only failed or dead" in str(error)
    [inbox] = sending.deliveries("d.channel = 'inbox'")
    assert "nothing to retry" in str(
        sending.refused(Conflict, use_cases.retry_delivery, OPERATOR, delivery_id=inbox["id"])
    )
    sending.refused(NotFound, use_cases.retry_delivery, OPERATOR, delivery_id=999999)


def test_operators_see_a_delivery_with_every_attempt_and_lists_by_what_they_filter(sending, http):
    shop_a, shop_b = sending.registry.merchant(), sending.registry.merchant()
    sms = _resolved(sending, shop_a)
    _resolved(sending, shop_b)
    http.fail("/sms", status=503, match=sms["address"])
    sending.tick(timers.send, "sms")
    detail = sending.call(queries.delivery_status, OPERATOR, delivery_id=sms["id"])
    assert (detail["rule"], detail["status"]) == ("ticket_resolved", "failed")
    assert [(a["attempt"], a["outcome"]) for a in detail["attempts_made"]] == [(1, "failed")]
    listed = sending.call(queries.list_deliveries, OPERATOR, channel="sms", recipient=f"merchant:{shop_a}")["items"]
    assert [d["id"] for d in listed] == [sms["id"]]
    assert {d["status"] for d in sending.call(queries.list_deliveries, OPERATOR, status="failed")["items"]} == {
        "failed"
    }
    first = sending.call(queries.list_deliveries, OPERATOR, limit=3)
    rest = sending.call(queries.list_deliveries, OPERATOR, limit=3, cursor=first["next_cursor"])
    assert len(first["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    with pytest.raises(NotFound):
        sending.call(queries.delivery_status, OPERATOR, delivery_id=999999)
    with pytest.raises(NotFound):
        sending.call(queries.delivery_status, OPERATOR, event_id="00000000-0000-4000-8000-000000000000")


def test_the_figures_of_a_period_and_of_now(sending, http):
    http.answer("/sms", {"error": "invalid number"}, status=400, times=None)
    _resolved(sending)
    sending.advance(seconds=10)
    waiting = _resolved(sending)
    sending.registry.down = 0
    sending.notify("tickets", "ticket_resolved", merchant_id="00000000-0000-4000-8000-000000000001")
    sending.advance(seconds=30)
    figures = sending.call(queries.stats, OPERATOR)
    assert figures["until"] == sending.now and figures["since"] == sending.now - timedelta(days=1)
    assert figures["deliveries"] == {"inbox": {"sent": 2}, "sms": {"pending": 2}}
    assert figures["backlog"]["sms"] == {"due": 2, "waiting": 2, "oldest_due_seconds": 40.0}
    assert figures["notifications_unresolved"] == {"resolving": 1} and figures["inbox_unread"] == 2
    assert figures["channels_configured"] == ["dingtalk", "email", "sms", "wecom"]
    sending.tick(timers.send, "sms")
    figures = sending.call(queries.stats, OPERATOR)
    assert figures["dead"] == 2 and figures["backlog"] == {}
    earlier = sending.call(queries.stats, OPERATOR, until=(waiting["created_at"] - timedelta(seconds=5)).isoformat())
    assert earlier["deliveries"] == {"inbox": {"sent": 1}, "sms": {"dead": 1}}
