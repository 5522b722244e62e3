"""Who gets what on which channel, and when: defaults by role, opt-in and opt-out per category and
channel, quiet hours, the digest, and recipients without an address for a channel."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from alliance_notifications.domain.planning import Contact, Intent, Planner, from_registry, group, unresolved
from alliance_notifications.domain.preferences import Policy, Preferences, channels_for, check_preferences
from alliance_notifications.domain.timing import QuietHours
from alliance_platform.errors import ValidationError

SH = ZoneInfo("Asia/Shanghai")
POLICY = Policy(
    timezone=SH,
    default_channels={"merchant": ("inbox", "sms"), "staff": ("inbox", "wecom")},
    quiet_hours=QuietHours(time(21, 0), time(8, 0)),
    digest_at=time(18, 0),
    default_language="zh-CN",
    districts=("wholesale_city", "aodele", "outlets"),
    categories=("demands", "activities", "honours"),
)
MORNING = datetime(2026, 6, 2, 10, 0, tzinfo=SH)
NIGHT = datetime(2026, 6, 2, 22, 0, tzinfo=SH)
SHOP = Contact("merchant:m-1", "merchant", mobile="13900000001", language="en", district="aodele")
STAFF = Contact("person:p-1", "staff", mobile="13800000001", district="wholesale_city")


def robots(channel, wanted):
    return {"wecom": {"wholesale_city": "wholesale_city"}, "dingtalk": {}}[channel].get(wanted) or (
        "default" if channel == "wecom" else None
    )


def plan(contact, prefs=None, urgency="normal", channels=None, now=MORNING, category="activities"):
    rows = Planner(Intent(category, urgency, channels), POLICY, robots, now).deliveries(contact, prefs)
    return {row[0]: row for row in rows}


def test_defaults_by_role_and_the_inbox_always():
    assert channels_for(POLICY, "merchant", "activities") == ("inbox", "sms")
    assert channels_for(POLICY, "staff", "activities") == ("inbox", "wecom")
    assert channels_for(POLICY, "unresolved", "activities") == ("inbox",)
    assert channels_for(POLICY, "group", "demands") == ("wecom", "dingtalk")
    assert channels_for(POLICY, "group", "demands", rule_channels=("inbox", "wecom")) == ("wecom",)


def test_choices_per_category_override_choices_for_all_which_override_defaults():
    prefs = Preferences("merchant:m-1", channels={"*": {"email": True, "sms": False}, "demands": {"sms": True}})
    assert channels_for(POLICY, "merchant", "activities", prefs=prefs) == ("inbox", "email")
    assert channels_for(POLICY, "merchant", "demands", prefs=prefs) == ("inbox", "sms", "email")
    assert channels_for(POLICY, "merchant", "demands", rule_channels=("inbox",), prefs=prefs) == (
        "inbox",
        "sms",
        "email",
    ), "a person's explicit opt-in adds to the rule's channels"


def test_nobody_opts_out_of_an_essential_message_such_as_a_sign_in_code():
    prefs = Preferences("person:p-1", channels={"*": {"sms": False, "wecom": False}})
    assert channels_for(POLICY, "staff", "announcements", rule_channels=("sms", "inbox"), prefs=prefs) == ("inbox",)
    essential = channels_for(POLICY, "staff", "account_security", rule_channels=("sms", "inbox"), prefs=prefs)
    assert essential == ("inbox", "sms"), "the code goes by SMS whatever the person chose for everything else"
    with pytest.raises(ValidationError) as refused:
        check_preferences({"channels": {"account_security": {"sms": False}}}, None, POLICY.categories)
    assert "channels" in refused.value.fields


def test_a_merchant_gets_inbox_now_and_sms_now_within_trading_hours():
    rows = plan(SHOP)
    assert set(rows) == {"inbox", "sms"}
    assert rows["inbox"] == ("inbox", None, None, "en", False, "sent", False, MORNING, MORNING)
    assert rows["sms"] == ("sms", "13900000001", None, "en", False, "pending", False, MORNING, None)


def test_at_night_messages_wait_for_the_opening_unless_urgent_and_the_inbox_never_waits():
    rows = plan(SHOP, now=NIGHT)
    opening = datetime(2026, 6, 3, 8, 0, tzinfo=SH)
    assert rows["sms"][7] == opening and rows["inbox"][7] == NIGHT
    assert plan(SHOP, now=NIGHT, urgency="urgent")["sms"][7] == NIGHT
    own_hours = Preferences("merchant:m-1", quiet_hours=QuietHours(time(23, 0), time(7, 0)))
    assert plan(SHOP, own_hours, now=NIGHT)["sms"][7] == NIGHT, "their own quiet hours start later"


def test_low_urgency_waits_for_the_digest_only_for_those_who_chose_it():
    digest = Preferences("merchant:m-1", digest=True)
    rows = plan(SHOP, digest, urgency="low")
    assert rows["sms"][6] is True and rows["sms"][7] == datetime(2026, 6, 2, 18, 0, tzinfo=SH)
    assert rows["inbox"][6] is False, "the inbox has every message at once"
    assert plan(SHOP, urgency="low")["sms"][6] is False
    assert plan(SHOP, digest, urgency="normal")["sms"][6] is False


def test_channels_without_an_address_are_left_out():
    assert set(plan(Contact("merchant:m-2", "merchant", mobile=None))) == {"inbox"}
    assert "email" not in plan(SHOP, Preferences("merchant:m-1", channels={"*": {"email": True}}))
    with_address = Preferences("merchant:m-1", channels={"*": {"email": True}}, email="shop@example.com")
    assert plan(SHOP, with_address)["email"][1] == "shop@example.com"


def test_staff_are_mentioned_in_their_districts_group_and_groups_get_their_robot():
    assert plan(STAFF)["wecom"][1:3] == ("wholesale_city", "13800000001")
    assert plan(Contact("person:p-2", "staff", mobile="13800000002", district="outlets"))["wecom"][1] == "default"
    rows = plan(group("wholesale_city"), category="demands")
    assert set(rows) == {"wecom"} and rows["wecom"][1:3] == ("wholesale_city", None)
    assert set(plan(unresolved("person:p-9"))) == {"inbox"}


def test_registry_contacts_become_merchant_or_staff_recipients():
    shop = from_registry({"kind": "merchant", "id": "m-1", "mobile": "139", "language": "en", "district_id": "aodele"})
    person = from_registry({"kind": "person", "id": "p-1", "mobile": "138", "language": "zh-CN", "district_id": None})
    assert (shop.recipient, shop.role, shop.language) == ("merchant:m-1", "merchant", "en")
    assert (person.recipient, person.role) == ("person:p-1", "staff")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"channels": {"gossip": {"sms": True}}}, "channels"),
        ({"channels": {"*": {"fax": True}}}, "channels"),
        ({"channels": {"*": {"inbox": False}}}, "channels"),
        ({"channels": {"*": {"email": True}}}, "email"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_invalid_preferences_are_refused_with_the_field_named(change, field):
    with pytest.raises(ValidationError) as caught:
        check_preferences(change, None, POLICY.categories)
    assert field in caught.value.fields


def test_email_may_be_switched_on_with_an_address_given_now_or_before():
    check_preferences({"channels": {"*": {"email": True}}, "email": "a@example.com"}, None, POLICY.categories)
    before = Preferences("person:p-1", email="a@example.com")
    check_preferences({"channels": {"demands": {"email": True}}}, before, POLICY.categories)
    with pytest.raises(ValidationError):
        check_preferences({"email": None}, Preferences("person:p-1", {"*": {"email": True}}, email="a@b.cn"), ())
