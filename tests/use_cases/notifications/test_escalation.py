"""Escalation chains on a real database, the platform clock moved by the test: an unread inbox
message goes by WeCom after 30 working minutes (a night or a weekend does not count), by SMS after
120; reading it stops the chain; quiet hours defer a step unless the message is urgent; the timer
decides each step once, however often it runs. Each step is in the message's history."""

import dataclasses
from datetime import datetime, timedelta

import pytest

from alliance_notifications import queries, timers, use_cases
from alliance_notifications.domain.rules import Rules
from alliance_notifications.service import SUBSCRIPTIONS
from tests.unit.notifications.test_rules import shipped
from tests.use_cases.notifications.conftest import OPERATOR, SETTINGS, SH, staff

# Friday 5 June 2026, 17:15 in Dezhou: a quarter of an hour before the centre closes.
FRIDAY_EVENING = datetime(2026, 6, 5, 17, 15, tzinfo=SH)


def _overdue(post, at=None):
    """A demand overdue for its owner (the shipped rule: inbox, WeCom after 30, SMS after 120)."""
    person = post.registry.person()
    if at is not None:
        post.now = at
    post.notify("tickets", "ticket_overdue", responsible_id=person)
    [inbox] = post.deliveries("d.channel = 'inbox'")
    return person, inbox


def _steps(post, inbox):
    return post.query("SELECT step, channel, status, due_at, sent_delivery_id FROM escalations"
                      " WHERE delivery_id = %s ORDER BY step", (inbox["id"],))  # fmt: skip


def _at(post, moment):
    post.now = moment
    return post.tick(timers.escalate)


def test_unread_the_message_goes_by_wecom_after_30_working_minutes_not_counting_the_weekend(post):
    person, inbox = _overdue(post, at=FRIDAY_EVENING)
    assert [d["channel"] for d in post.deliveries()] == ["inbox"], "only the inbox at first"
    first, second = _steps(post, inbox)
    monday = datetime(2026, 6, 8, 8, 45, tzinfo=SH)  # 15 minutes on Friday, 15 on Monday from 08:30
    assert (first["channel"], first["status"], first["due_at"]) == ("wecom", "scheduled", monday)
    assert (second["channel"], second["due_at"]) == ("sms", datetime(2026, 6, 8, 10, 15, tzinfo=SH))

    assert _at(post, FRIDAY_EVENING + timedelta(minutes=30)) == {}, "the evening is not working time"
    assert _at(post, datetime(2026, 6, 7, 12, 0, tzinfo=SH)) == {}, "nor is Sunday"
    assert _at(post, monday - timedelta(minutes=1)) == {}
    assert [d["channel"] for d in post.deliveries()] == ["inbox"]

    assert _at(post, monday) == {"sent": 1}
    assert _at(post, monday) == {}, "the timer ran again: the step is not sent twice"
    [wecom] = post.deliveries("d.channel = 'wecom'")
    assert (wecom["recipient"], wecom["status"], wecom["due_at"]) == (f"person:{person}", "pending", monday)
    assert wecom["address"] == "wholesale_city" and wecom["mention"], "the district's robot, @-mentioning them"
    assert wecom["event_id"] == inbox["event_id"] and wecom["notification_id"] == inbox["notification_id"]

    assert _at(post, datetime(2026, 6, 8, 10, 15, tzinfo=SH)) == {"sent": 1}
    [sms] = post.deliveries("d.channel = 'sms'")
    assert sms["address"] and sms["status"] == "pending"

    history = post.call(queries.delivery_status, OPERATOR, delivery_id=inbox["id"])
    assert [(s["step"], s["channel"], s["status"], s["sent_delivery_id"]) for s in history["escalations"]] == [
        (1, "wecom", "sent", wecom["id"]),
        (2, "sms", "sent", sms["id"]),
    ]
    assert history["escalations"][0]["decided_at"] == monday


def test_read_before_step_2_step_2_is_never_sent(post):
    person, inbox = _overdue(post)  # Tuesday 10:00
    assert _at(post, post.now + timedelta(minutes=30)) == {"sent": 1}
    post.advance(minutes=20)
    assert post.call(use_cases.mark_read, staff(subject=person), ids=[inbox["id"]])["marked"] == 1
    read_at = post.now
    assert [(s["step"], s["status"]) for s in _steps(post, inbox)] == [(1, "sent"), (2, "skipped_read")]

    assert _at(post, post.now + timedelta(hours=3)) == {}
    assert [d["channel"] for d in post.deliveries()] == ["inbox", "wecom"], "no SMS"
    history = post.call(queries.delivery_status, OPERATOR, delivery_id=inbox["id"])
    [_, skipped] = history["escalations"]
    assert (skipped["status"], skipped["decided_at"], skipped["sent_delivery_id"]) == ("skipped_read", read_at, None)


def test_read_all_at_once_stops_every_chain_of_the_reader_only(post):
    person, inbox = _overdue(post)
    other = post.registry.person()
    post.notify("tickets", "ticket_overdue", responsible_id=other)
    post.call(use_cases.mark_read, staff(subject=person), all=True)
    assert _at(post, post.now + timedelta(hours=3)) == {"sent": 2}, "the other's two steps"
    assert {(d["recipient"], d["channel"]) for d in post.deliveries("d.channel <> 'inbox'")} == {
        (f"person:{other}", "wecom"),
        (f"person:{other}", "sms"),
    }
    assert {s["status"] for s in _steps(post, inbox)} == {"skipped_read"}


def test_a_message_read_while_the_step_was_due_is_skipped_by_the_timer(post):
    """The timer decides on the message's read state as it is then."""
    person, inbox = _overdue(post)
    post.advance(minutes=45)
    post.query(
        "UPDATE deliveries SET read_at = %s WHERE id = %s RETURNING id", (post.now, inbox["id"])
    )  # read by another path
    assert _at(post, post.now) == {"skipped_read": 1}
    assert [d["channel"] for d in post.deliveries()] == ["inbox"]


def _with_chains(post):
    """The shipped rules, supervision reminders (normal) and escalations to the secretary (urgent)
    with a chain to WeCom after 30 working minutes and the inbox alone at first."""
    document = shipped()
    for rule in document["rules"]:
        if rule["name"] in ("supervision_reminded_to_owner", "ticket_escalated_to_secretary"):
            rule["channels"] = ["inbox"]
            rule["escalate"] = [{"after_working_minutes": 30, "channel": "wecom"}]
    rules = Rules(document, SETTINGS.templates, set(SUBSCRIPTIONS), SH)
    post.settings = dataclasses.replace(SETTINGS, rules=rules)


@pytest.mark.parametrize(
    "event, field, urgent",
    [("supervision_reminded", "responsible_id", False), ("ticket_escalated", "escalated_to_id", True)],
)
def test_a_step_due_in_the_recipients_quiet_hours_waits_unless_urgent(post, event, field, urgent):
    _with_chains(post)
    person = post.registry.person()
    post.call(use_cases.set_preferences, staff(subject=person), quiet_hours={"start": "12:00", "end": "14:00"})
    post.now = datetime(2026, 6, 2, 11, 45, tzinfo=SH)
    post.notify("tickets", event, **{field: person})
    [inbox] = post.deliveries("d.channel = 'inbox'")
    due = datetime(2026, 6, 2, 12, 15, tzinfo=SH)
    deferred = datetime(2026, 6, 2, 14, 0, tzinfo=SH)
    [step] = _steps(post, inbox)
    assert step["due_at"] == (due if urgent else deferred)

    assert _at(post, due) == ({"sent": 1} if urgent else {})
    if not urgent:
        assert post.deliveries("d.channel = 'wecom'") == [], "quiet hours: not yet"
        assert _at(post, deferred) == {"sent": 1}
    [wecom] = post.deliveries("d.channel = 'wecom'")
    assert wecom["due_at"] == post.now and wecom["urgent"] is urgent


def test_a_channel_that_cannot_reach_the_recipient_is_skipped_visibly(post):
    person = post.registry.person(mobile=None)  # no mobile: no SMS
    post.call(use_cases.set_preferences, staff(subject=person), channels={"demands": {"wecom": False}})
    post.notify("tickets", "ticket_overdue", responsible_id=person)
    [inbox] = post.deliveries("d.channel = 'inbox'")
    assert _at(post, post.now + timedelta(hours=3)) == {"skipped_unreachable": 2}
    assert [d["channel"] for d in post.deliveries()] == ["inbox"]
    history = post.call(queries.delivery_status, OPERATOR, delivery_id=inbox["id"])
    assert [(s["status"], s["detail"]) for s in history["escalations"]] == [
        ("skipped_unreachable", "no wecom address, or switched off by the recipient"),
        ("skipped_unreachable", "no sms address, or switched off by the recipient"),
    ]


def test_a_redelivered_event_schedules_its_chain_once(post):
    person = post.registry.person()
    event_id = "0c7f6f8e-33f5-4c9b-9d55-0a7b8c2d1e01"
    post.notify("tickets", "ticket_overdue", event_id=event_id, responsible_id=person)
    post.notify("tickets", "ticket_overdue", event_id=event_id, responsible_id=person)
    assert post.query("SELECT count(*) AS n FROM escalations")[0]["n"] == 2
