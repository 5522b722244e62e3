"""A person's own side: the inbox a caller reads and marks is theirs alone (their own as a person,
their shop's as its merchant), and their preferences change only validly, only their own."""

from datetime import time

import pytest

from alliance_notifications import queries, use_cases
from alliance_platform.errors import Forbidden, NotFound, ValidationError
from tests.use_cases.notifications.conftest import SYSTEM, shop, staff


def _inbox(post, merchant, count=2):
    for _ in range(count):
        post.notify("tickets", "ticket_resolved", merchant_id=merchant)
        post.advance(minutes=1)
    return [d["id"] for d in post.deliveries("d.channel = 'inbox'")]


def test_a_merchant_reads_its_shops_inbox_newest_first_a_page_at_a_time(post):
    merchant = post.registry.merchant(language="en")
    older, newer = _inbox(post, merchant)
    me = shop(merchant)
    first = post.call(queries.list_inbox, me, limit=1)
    second = post.call(queries.list_inbox, me, limit=1, cursor=first["next_cursor"])
    assert [m["id"] for m in first["items"]] == [newer] and [m["id"] for m in second["items"]] == [older]
    assert second["next_cursor"] is None
    assert first["items"][0]["title"] == "Request DM-2026-000123 resolved", "in the recipient's language"
    assert post.call(queries.count_unread, me) == {"unread": 2}


def test_marking_read_counts_what_changed_and_what_stays_unread(post):
    merchant = post.registry.merchant()
    older, newer = _inbox(post, merchant)
    me = shop(merchant)
    assert post.call(use_cases.mark_read, me, ids=[older]) == {"marked": 1, "unread": 1}
    assert post.call(use_cases.mark_read, me, ids=[older]) == {"marked": 0, "unread": 1}, "read already"
    assert [m["id"] for m in post.call(queries.list_inbox, me, unread_only=True)["items"]] == [newer]
    assert post.call(use_cases.mark_read, me, all=True) == {"marked": 1, "unread": 0}
    [read_at] = {d["read_at"] for d in post.deliveries("d.channel = 'inbox'")}
    assert read_at == post.now


def test_nobody_reads_or_marks_anyone_elses_messages(post):
    mine, theirs = post.registry.merchant(), post.registry.merchant()
    [their_message] = _inbox(post, theirs, count=1)
    me = shop(mine)
    assert post.call(queries.list_inbox, me)["items"] == []
    with pytest.raises(Forbidden):
        post.call(queries.list_inbox, me, recipient=f"merchant:{theirs}")
    with pytest.raises(Forbidden):
        post.call(queries.count_unread, me, recipient=f"merchant:{theirs}")
    error = post.refused(NotFound, use_cases.mark_read, me, ids=[their_message])
    assert str(their_message) in str(error)
    post.refused(NotFound, use_cases.mark_read, me, ids=[their_message + 1000])


def test_one_message_not_the_callers_refuses_the_whole_marking(post):
    mine, theirs = post.registry.merchant(), post.registry.merchant()
    [my_message] = _inbox(post, mine, count=1)
    post.notify("tickets", "ticket_resolved", merchant_id=theirs)
    [their_message] = [
        d["id"] for d in post.deliveries("d.channel = 'inbox' AND d.recipient = %s", (f"merchant:{theirs}",))
    ]
    post.refused(NotFound, use_cases.mark_read, shop(mine), ids=[my_message, their_message])


def test_internal_systems_have_no_inbox(post):
    with pytest.raises(Forbidden, match="no inbox"):
        post.call(queries.count_unread, SYSTEM)
    post.refused(Forbidden, use_cases.mark_read, SYSTEM, all=True)
    post.refused(Forbidden, use_cases.set_preferences, SYSTEM, digest=True)


def test_a_merchants_person_has_an_inbox_of_their_own_beside_the_shops(post):
    merchant, owner = post.registry.merchant(), post.registry.person()
    post.notify("tickets", "ticket_resolved", merchant_id=merchant)
    post.notify("tickets", "ticket_due_soon", responsible_id=owner)
    me = shop(merchant, subject=owner)
    assert {m["recipient"] for m in post.call(queries.list_inbox, me)["items"]} == {
        f"merchant:{merchant}",
        f"person:{owner}",
    }
    only = post.call(queries.list_inbox, me, recipient=f"person:{owner}")["items"]
    assert [m["recipient"] for m in only] == [f"person:{owner}"]


def test_preferences_show_the_defaults_of_the_role_until_changed(post):
    shown = post.call(queries.get_preferences, shop("m-1"))
    assert shown["recipient"] == "merchant:m-1" and shown["default_channels"] == ["inbox", "sms"]
    assert shown["quiet_hours"] == {"start": time(21, 0), "end": time(8, 0), "from_trading_hours": True}
    assert shown["channels"] == {} and shown["digest"] is False and shown["email"] is None
    assert set(shown["effective_channels"]) == {"demands", "activities", "honours", "party_affairs", "announcements"}
    assert post.call(queries.get_preferences, staff())["default_channels"] == ["inbox", "wecom"]


def test_opting_in_and_out_per_category_and_channel(post):
    me = staff()
    changed = post.call(
        use_cases.set_preferences, me, channels={"*": {"email": True}, "activities": {"wecom": False}},
        email="me@example.com",
    )  # fmt: skip
    assert changed["effective_channels"]["activities"] == ["inbox", "email"]
    assert changed["effective_channels"]["demands"] == ["inbox", "email", "wecom"]
    again = post.call(use_cases.set_preferences, me, digest=True)
    assert again["digest"] and again["email"] == "me@example.com", "fields not given stay as they were"
    assert again["channels"] == {"*": {"email": True}, "activities": {"wecom": False}}


def test_quiet_hours_of_ones_own_and_back_to_trading_hours(post):
    me = shop("m-2")
    hours = post.call(use_cases.set_preferences, me, quiet_hours={"start": "23:00", "end": "07:00"})["quiet_hours"]
    assert hours == {"start": time(23, 0), "end": time(7, 0), "from_trading_hours": False}
    back = post.call(use_cases.set_preferences, me, quiet_hours=None)["quiet_hours"]
    assert back == {"start": time(21, 0), "end": time(8, 0), "from_trading_hours": True}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"channels": {"gossip": {"sms": True}}}, "channels"),
        ({"channels": {"*": {"pager": True}}}, "channels"),
        ({"channels": {"*": {"inbox": False}}}, "channels"),
        ({"channels": {"*": {"email": True}}}, "email"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_invalid_preferences_are_refused_and_nothing_is_written(post, change, field):
    error = post.refused(ValidationError, use_cases.set_preferences, staff(), **change)
    assert field in error.fields


def test_an_address_once_given_lets_email_be_switched_on_later(post):
    me = staff()
    post.call(use_cases.set_preferences, me, email="me@example.com")
    assert post.call(use_cases.set_preferences, me, channels={"demands": {"email": True}})["email"] == "me@example.com"


def test_nobody_reads_or_changes_anyone_elses_preferences(post):
    me = shop("m-3")
    with pytest.raises(Forbidden):
        post.call(queries.get_preferences, me, recipient="merchant:m-4")
    post.refused(Forbidden, use_cases.set_preferences, me, recipient="merchant:m-4", digest=True)
    assert (
        post.call(use_cases.set_preferences, me, recipient="merchant:m-3", digest=True)["recipient"] == "merchant:m-3"
    )
