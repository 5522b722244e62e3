"""``send`` from other internal systems: once per idempotency key of a caller, recipients checked
with the registry, a send template or a plain message, and every refusal leaving nothing."""

import pytest

from alliance_notifications import queries, use_cases
from alliance_platform.errors import Conflict, ServiceUnavailable, ValidationError
from tests.support.harness import identity
from tests.use_cases.notifications.conftest import SYSTEM

ANNOUNCEMENT = {
    "template": "announcement",
    "variables": {"heading": "停电通知", "text": "6月5日 22:00-24:00 B区检修停电。"},
}


def _message(post, **changes):
    return {
        "idempotency_key": "outage-2026-06-05",
        "person_ids": [post.registry.person()],
        "merchant_ids": [post.registry.merchant()],
        **ANNOUNCEMENT,
        **changes,
    }


def test_a_send_reaches_people_and_merchants_on_their_channels_once_per_key(post):
    message = _message(post, urgency="urgent")
    first = post.call(use_cases.send, SYSTEM, **message)
    assert first["status"] == "resolved" and first["recipients"] == 2
    assert first["deliveries"] == {"inbox": 2, "sms": 1, "wecom": 1}
    before = post.snapshot()
    assert post.call(use_cases.send, SYSTEM, **message) == first
    assert post.snapshot() == before, "the second call changed nothing"
    [notification] = post.notifications()
    assert (notification["source"], notification["rule"], notification["urgency"]) == ("send", "send", "urgent")
    assert all(d["due_at"] == post.now and d["urgent"] for d in post.deliveries())


def test_the_same_key_for_another_message_is_a_conflict(post):
    message = _message(post)
    post.call(use_cases.send, SYSTEM, **message)
    error = post.refused(
        Conflict, use_cases.send, SYSTEM, **{**message, "variables": {"heading": "停水", "text": "明日停水"}}
    )
    assert "already used for another message" in str(error)


def test_another_callers_key_is_another_message(post):
    message = _message(post)
    mine = post.call(use_cases.send, SYSTEM, **message)
    theirs = post.call(use_cases.send, identity("system", ["system"], subject="oa"), **message)
    assert mine["event_id"] != theirs["event_id"] and len(post.notifications()) == 2


def test_the_caller_finds_its_send_again_by_its_key(post):
    sent = post.call(use_cases.send, SYSTEM, **_message(post))
    status = post.call(queries.delivery_status, SYSTEM, idempotency_key="outage-2026-06-05")
    assert status["event_id"] == sent["event_id"]
    assert status["deliveries"] == {"inbox": {"sent": 2}, "sms": {"pending": 1}, "wecom": {"pending": 1}}


def test_a_plain_message_goes_as_written_on_the_channels_named(post):
    merchant = post.registry.merchant()
    sent = post.call(
        use_cases.send, SYSTEM, idempotency_key="k-1", merchant_ids=[merchant], title="提醒", body="请更新营业执照",
        channels=["inbox"],
    )  # fmt: skip
    assert sent["deliveries"] == {"inbox": 1}
    [row] = post.query("SELECT content FROM notifications")
    assert {language: text["body"] for language, text in row["content"].items()} == {
        "zh-CN": "请更新营业执照",
        "en": "请更新营业执照",
    }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"person_ids": ["00000000-0000-4000-8000-000000000000"]}, "person_ids"),  # not in the register
        ({"template": "no_such_template"}, "template"),
        ({"template": "ticket_received"}, "template"),  # an event's template
        ({"variables": {"heading": "x"}}, "variables"),
        ({"category": "gossip"}, "category"),
    ],
)
def test_a_send_that_cannot_be_made_is_refused_and_leaves_nothing(post, change, field):
    error = post.refused(ValidationError, use_cases.send, SYSTEM, **_message(post, **change))
    assert field in error.fields


def test_a_registry_that_does_not_answer_is_the_callers_to_retry_with_the_same_key(post):
    message = _message(post)
    post.registry.down = 0
    post.refused(ServiceUnavailable, use_cases.send, SYSTEM, **message)
    post.registry.down = None
    assert post.call(use_cases.send, SYSTEM, **message)["recipients"] == 2
