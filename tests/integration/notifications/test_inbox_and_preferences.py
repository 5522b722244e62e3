"""A person's own inbox and preferences: nobody else's; opt-in and opt-out per category and
channel; quiet hours from trading hours (urgent messages go anyway); the daily digest."""

from datetime import datetime

import pytest

from alliance_platform.errors import Forbidden, NotFound, ValidationError
from tests.integration.notifications.conftest import SH
from tests.support.helpers import query


def test_the_inbox_lists_counts_and_marks_read_a_merchants_messages(post):
    owner = post.register_person(roles=[], language="en")
    shop = post.register_merchant(owner_id=owner["person_id"])
    post.publish("tickets", "ticket_submitted", merchant_id=shop["merchant_id"])
    post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    with post.merchant(shop["merchant_id"], person_id=owner["person_id"]) as me:
        assert me.notifications.count_unread() == {"unread": 2}
        first = me.notifications.list_inbox(limit=1)
        second = me.notifications.list_inbox(limit=1, cursor=first["next_cursor"])
        assert second["next_cursor"] is None
        newest, older = first["items"][0], second["items"][0]
        assert newest["title"] == "Request DM-2026-000123 resolved", "in the owner's language"
        assert older["title"].startswith("Request received") and newest["read_at"] is None
        assert newest["recipient"] == f"merchant:{shop['merchant_id']}" and newest["category"] == "demands"
        assert me.notifications.mark_read(ids=[older["id"]]) == {"marked": 1, "unread": 1}
        assert [m["id"] for m in me.notifications.list_inbox(unread_only=True)["items"]] == [newest["id"]]
        assert me.notifications.mark_read(all=True) == {"marked": 1, "unread": 0}


def test_nobody_reads_or_marks_anyone_elses_inbox(post):
    mine, theirs = post.register_merchant(), post.register_merchant()
    post.publish("tickets", "ticket_resolved", merchant_id=theirs["merchant_id"])
    [their_message] = post.deliveries("d.channel = 'inbox'")
    with post.merchant(mine["merchant_id"]) as me:
        assert me.notifications.list_inbox()["items"] == []
        with pytest.raises(Forbidden):
            me.notifications.list_inbox(recipient=f"merchant:{theirs['merchant_id']}")
        with pytest.raises(NotFound):
            me.notifications.mark_read(ids=[their_message["id"]])
        with pytest.raises(Forbidden):
            me.notifications.get_preferences(recipient=f"merchant:{theirs['merchant_id']}")
    with post.system("crm") as crm, pytest.raises(Forbidden, match="no inbox"):
        crm.notifications.count_unread()
    assert post.deliveries("d.read_at IS NOT NULL") == []


def test_preferences_show_the_defaults_and_opting_out_of_a_category_on_a_channel_holds(post):
    shop = post.register_merchant(district="aodele")
    with post.merchant(shop["merchant_id"]) as me:
        defaults = me.notifications.get_preferences()
        assert defaults["default_channels"] == ["inbox", "sms"] and defaults["digest"] is False
        assert defaults["quiet_hours"] == {"start": "21:00", "end": "08:00", "from_trading_hours": True}
        changed = me.notifications.set_preferences(channels={"activities": {"sms": False}})
        assert changed["effective_channels"]["activities"] == ["inbox"]
        assert changed["effective_channels"]["demands"] == ["inbox", "sms"]
    post.publish("events", "activity_published", audience={"kinds": ["merchants"], "districts": ["aodele"]})
    post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    assert sorted((d["rule"], d["channel"]) for d in post.deliveries()) == [
        ("activity_published", "inbox"),
        ("ticket_resolved", "inbox"),
        ("ticket_resolved", "sms"),
    ]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"channels": {"gossip": {"sms": True}}}, "channels"),
        ({"channels": {"*": {"inbox": False}}}, "channels"),
        ({"channels": {"*": {"email": True}}}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"quiet_hours": {"start": "late", "end": "08:00"}}, "quiet_hours"),
        ({}, "_schema"),
    ],
)
def test_invalid_preferences_are_refused_and_nothing_is_written(post, change, field):
    person = post.register_person()
    with post.staff(person_id=person["person_id"]) as me, pytest.raises(ValidationError) as caught:
        me.notifications.set_preferences(**change)
    assert field in caught.value.fields
    assert query(post.database, "SELECT count(*) AS n FROM preferences")[0]["n"] == 0


def test_at_night_messages_wait_for_trading_hours_but_urgent_ones_go_at_once(post):
    post.time.set(datetime(2026, 6, 2, 22, 30, tzinfo=SH))
    shop = post.register_merchant()
    secretary = post.register_person(roles=["branch_secretary"])
    post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    post.publish("tickets", "ticket_escalated", escalated_to_id=secretary["person_id"])
    urgent = post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    assert [d["recipient"] for d in urgent] == [f"person:{secretary['person_id']}"]
    [waiting] = post.deliveries("d.channel = 'sms' AND d.status = 'pending'")
    assert waiting["due_at"] == datetime(2026, 6, 3, 8, 0, tzinfo=SH)
    assert post.deliveries("d.channel = 'inbox' AND d.status = 'sent'"), "the inbox has it at once"
    post.time.set(datetime(2026, 6, 3, 8, 0, 5, tzinfo=SH))
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'", count=2)


def test_a_person_may_set_quiet_hours_of_their_own(post):
    post.time.set(datetime(2026, 6, 2, 21, 30, tzinfo=SH))
    shop = post.register_merchant()
    with post.merchant(shop["merchant_id"]) as me:
        hours = me.notifications.set_preferences(quiet_hours={"start": "23:00", "end": "07:00"})["quiet_hours"]
        assert hours == {"start": "23:00", "end": "07:00", "from_trading_hours": False}
    post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'")


def test_low_urgency_messages_wait_for_one_daily_digest_for_those_who_chose_it(post):
    shop = post.register_merchant()
    with post.merchant(shop["merchant_id"]) as me:
        me.notifications.set_preferences(digest=True)
    post.publish("registry", "honour_awarded", merchant_id=shop["merchant_id"])
    post.publish("events", "registration_waitlisted", merchant_id=shop["merchant_id"])
    waiting = post.deliveries("d.channel = 'sms'")
    assert [(d["status"], d["in_digest"]) for d in waiting] == [("pending", True)] * 2
    assert all(d["due_at"] == datetime(2026, 6, 2, 18, 0, tzinfo=SH) for d in waiting)
    assert len(post.deliveries("d.channel = 'inbox'")) == 2, "the inbox does not wait"

    post.time.set(datetime(2026, 6, 2, 18, 0, 1, tzinfo=SH))
    digest = post.wait_for("d.channel = 'sms' AND d.status = 'sent' AND n.source = 'digest'")[0]
    [request] = post.http.received("/sms")
    assert request.body["text"].startswith("【红星德百】您今日有2条新通知") and request.body["reference"] == str(
        digest["id"]
    )
    covered = post.deliveries("d.digest_id = %s", (digest["id"],))
    assert [d["status"] for d in covered] == ["sent", "sent"] and {d["id"] for d in covered} == {
        d["id"] for d in waiting
    }
    announced = post.wait_published("notification_delivered", count=3)
    assert sorted(e["via_digest"] or "" for e in announced) == ["", str(digest["id"]), str(digest["id"])]
