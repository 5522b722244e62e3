"""From an event to its notifications and deliveries: one notification per rule that fires, one
delivery per recipient and channel whatever names them twice, the channels and hours each
recipient's role and preferences say, and an audience the registry could not serve resumed where
it stopped."""

from datetime import datetime, timedelta

from alliance_notifications import timers, use_cases
from tests.use_cases.notifications.conftest import SH, shop


def _channels(post, where="true", params=None):
    return sorted((d["rule"], d["recipient"], d["channel"], d["status"]) for d in post.deliveries(where, params))


def test_an_event_becomes_one_notification_per_rule_and_each_recipients_deliveries(post):
    merchant = post.registry.merchant()
    assert post.notify("tickets", "ticket_submitted", merchant_id=merchant) == {"resolved": 2}
    assert [(n["rule"], n["status"], n["recipients"]) for n in post.notifications()] == [
        ("ticket_received", "resolved", 1),
        ("ticket_new_for_district_staff", "resolved", 1),
    ]
    assert _channels(post) == [
        ("ticket_new_for_district_staff", "group:wholesale_city", "wecom", "pending"),
        ("ticket_received", f"merchant:{merchant}", "inbox", "sent"),
        ("ticket_received", f"merchant:{merchant}", "sms", "pending"),
    ]
    [sms] = post.deliveries("d.channel = 'sms'")
    assert sms["due_at"] == post.now and sms["address"] == post.registry.contacts[0]["mobile"]
    assert post.payloads("notification_delivered") == [], "nothing is announced before it is sent"


def test_the_same_event_again_adds_nothing(post):
    merchant = post.registry.merchant()
    post.notify("tickets", "ticket_resolved", event_id="6d1f7c2e58b44f0e9a6b2c4d8e1f3a5b", merchant_id=merchant)
    before = post.snapshot()
    assert (
        post.notify("tickets", "ticket_resolved", event_id="6d1f7c2e58b44f0e9a6b2c4d8e1f3a5b", merchant_id=merchant)
        == {}
    )
    assert post.snapshot() == before


def test_two_rules_naming_the_same_person_give_one_delivery_per_channel(post):
    handler = post.registry.person()
    post.notify("tickets", "ticket_assigned", example=2, accepted=False, assignee_id=handler)
    assert {n["rule"] for n in post.notifications()} == {"ticket_proposed_to_assignee", "ticket_reassigned_to_assignee"}
    assert sorted((d["recipient"], d["channel"]) for d in post.deliveries()) == [
        (f"person:{handler}", "inbox"),
        (f"person:{handler}", "wecom"),
    ]
    assert [n["recipients"] for n in post.notifications()] == [1, 0], "the second rule found them served"


def test_a_rule_that_does_not_fire_notifies_nobody(post):
    assert post.notify("tickets", "ticket_status_changed", to_status="in_progress") == {}
    assert post.notifications() == [] and post.deliveries() == []


def test_ids_the_registry_does_not_know_still_have_an_inbox(post):
    known = post.registry.person()
    stranger = "00000000-0000-4000-8000-000000000099"
    post.notify("events", "activity_cancelled", registrant_ids=[known, stranger, "p-legacy"])
    assert set(_channels(post)) == {
        ("activity_cancelled", f"person:{known}", "inbox", "sent"),
        ("activity_cancelled", f"person:{known}", "wecom", "pending"),
        ("activity_cancelled", f"person:{stranger}", "inbox", "sent"),
        ("activity_cancelled", "person:p-legacy", "inbox", "sent"),
    }
    [notification] = post.notifications()
    assert (notification["recipients"], notification["unresolved"]) == (3, 2)


def test_an_audience_reaches_its_districts_merchants_a_page_at_a_time(post):
    post.registry.page_size = 2
    outlets = {post.registry.merchant(district="outlets") for _ in range(5)}
    post.registry.merchant(district="aodele")
    post.notify("events", "activity_published", audience={"kinds": ["merchants"], "districts": ["outlets"]})
    assert {d["recipient"] for d in post.deliveries("d.channel = 'inbox'")} == {f"merchant:{m}" for m in outlets}
    assert [cursor for _, cursor in post.registry.asked] == [None, "2", "4"]
    assert post.notifications()[0]["recipients"] == 5


def test_a_role_is_kept_to_the_district_the_event_names(post):
    here = post.registry.person(district="aodele", roles=["branch_secretary"])
    post.registry.person(district="outlets", roles=["branch_secretary"])
    member = post.registry.person(district="aodele", roles=[])
    post.notify("registry", "floating_member_transfer_due", person_id=member, district_id="aodele")
    by_rule = {(d["rule"], d["recipient"]) for d in post.deliveries("d.channel = 'inbox'")}
    assert by_rule == {
        ("floating_transfer_due_member", f"person:{member}"),
        ("floating_transfer_due_secretary", f"person:{here}"),
    }


def test_a_team_is_reached_beside_the_districts_group(post):
    members = {post.registry.person(teams=["bank-liaisons"]) for _ in range(2)}
    post.registry.person(teams=["service-centre"])
    post.notify("tickets", "ticket_assigned", example=0)  # routed to the team "bank-liaisons", nobody proposed
    assert {d["recipient"] for d in post.deliveries("n.rule = 'ticket_routed_to_team' AND d.channel = 'inbox'")} == {
        f"person:{m}" for m in members
    }


def test_at_night_messages_wait_for_trading_hours_but_urgent_ones_and_the_inbox_go_at_once(post):
    post.now = datetime(2026, 6, 2, 22, 30, tzinfo=SH)
    merchant, secretary = post.registry.merchant(), post.registry.person(roles=["branch_secretary"])
    post.notify("tickets", "ticket_resolved", merchant_id=merchant)
    post.notify("tickets", "ticket_escalated", escalated_to_id=secretary)
    due = {(d["recipient"], d["channel"]): (d["due_at"], d["urgent"]) for d in post.deliveries()}
    opening = datetime(2026, 6, 3, 8, 0, tzinfo=SH)
    assert due[(f"merchant:{merchant}", "sms")] == (opening, False)
    assert due[(f"merchant:{merchant}", "inbox")] == (post.now, False)
    assert due[(f"person:{secretary}", "sms")] == (post.now, True), "the rule's channels, at once"
    assert due[(f"person:{secretary}", "wecom")] == (post.now, True)


def test_a_persons_own_quiet_hours_opt_outs_and_digest_shape_their_deliveries(post):
    merchant = post.registry.merchant()
    post.now = datetime(2026, 6, 2, 21, 30, tzinfo=SH)
    post.call(use_cases.set_preferences, shop(merchant), quiet_hours={"start": "23:00", "end": "07:00"},
              channels={"activities": {"sms": False}}, digest=True)  # fmt: skip
    post.notify("tickets", "ticket_resolved", merchant_id=merchant)
    post.notify("events", "registration_confirmed", merchant_id=merchant)
    post.notify("registry", "honour_awarded", merchant_id=merchant)  # low urgency: the digest
    sms = {d["rule"]: d for d in post.deliveries("d.channel = 'sms'")}
    assert set(sms) == {"ticket_resolved", "honour_awarded"}, "activities: no SMS"
    assert (sms["ticket_resolved"]["due_at"], sms["ticket_resolved"]["in_digest"]) == (post.now, False)
    assert sms["honour_awarded"]["in_digest"] and sms["honour_awarded"]["due_at"] == datetime(
        2026, 6, 3, 18, 0, tzinfo=SH
    )
    assert len(post.deliveries("d.channel = 'inbox'")) == 3, "the inbox has them all"


def test_a_group_without_a_robot_of_its_own_goes_to_the_default_robot_and_one_without_any_to_nobody(post):
    post.notify("tickets", "ticket_submitted", merchant_id="m-1", district_id="outlets")
    assert [(d["recipient"], d["channel"], d["address"]) for d in post.deliveries("d.recipient LIKE 'group:%%'")] == [
        ("group:outlets", "wecom", "default")
    ]
    post.notify("tickets", "ticket_escalated", example=1)  # the alliance's group: WeCom default, its DingTalk robot
    assert {(d["channel"], d["address"]) for d in post.deliveries("n.rule = 'ticket_escalated_to_group'")} == {
        ("wecom", "default"),
        ("dingtalk", "alliance"),
    }


def test_a_registry_outage_keeps_what_was_written_and_resumes_where_it_stopped(post):
    post.registry.page_size = 2
    shops = [post.registry.merchant(district="outlets") for _ in range(5)]
    post.registry.down = 1  # answers the first page, then nothing
    audience = {"kinds": ["merchants"], "districts": ["outlets"]}
    assert post.notify("events", "activity_published", audience=audience) == {"resolving": 1}
    [waiting] = post.notifications()
    assert waiting["progress"] == {"step": 0, "cursor": "2"} and waiting["attempts"] == 1
    assert waiting["retry_at"] == post.now + timedelta(seconds=5) and "registry" in waiting["last_error"]
    assert len(post.deliveries("d.channel = 'inbox'")) == 2, "the first page is kept"

    post.registry.down = None
    post.advance(seconds=4)
    assert post.tick(timers.resume_fanouts, post.registry) == {}, "not before its retry time"
    post.advance(seconds=1)
    asked = len(post.registry.asked)
    assert post.tick(timers.resume_fanouts, post.registry) == {"resolved": 1}
    assert [cursor for _, cursor in post.registry.asked[asked:]] == ["2", "4"], "from where it stopped"
    [done] = post.notifications()
    assert (done["status"], done["recipients"], done["attempts"], done["last_error"]) == ("resolved", 5, 1, None)
    assert sorted(d["recipient"] for d in post.deliveries("d.channel = 'inbox'")) == sorted(
        f"merchant:{s}" for s in shops
    )


def test_each_failed_resumption_waits_twice_as_long(post):
    post.registry.down = 0
    post.notify("tickets", "ticket_resolved", merchant_id=post.registry.merchant())
    for attempts, wait in ((2, 10), (3, 20)):
        post.advance(seconds=300)
        post.tick(timers.resume_fanouts, post.registry)
        [waiting] = post.notifications()
        assert (waiting["attempts"], waiting["retry_at"]) == (attempts, post.now + timedelta(seconds=wait))


def test_once_the_registry_failed_the_later_steps_of_the_event_wait_too(post):
    post.registry.down = 0
    secretary = post.registry.person(district="outlets", roles=["branch_secretary"])
    post.notify("registry", "floating_member_transfer_due", person_id=post.registry.person(), district_id="outlets")
    assert [(n["rule"], n["status"]) for n in post.notifications()] == [
        ("floating_transfer_due_member", "resolving"),
        ("floating_transfer_due_secretary", "resolving"),
    ]
    assert len(post.registry.asked) == 1, "asked once for the event, not once per rule"
    post.registry.down = None
    post.advance(seconds=5)
    post.tick(timers.resume_fanouts, post.registry)
    assert f"person:{secretary}" in {d["recipient"] for d in post.deliveries()}


def test_a_query_the_registry_refuses_fails_the_notification_for_good(post):
    post.registry.refusing = True
    assert post.notify("tickets", "ticket_resolved", merchant_id=post.registry.merchant()) == {"failed": 1}
    [failed] = post.notifications()
    assert failed["status"] == "failed" and failed["retry_at"] is None and "invalid query" in failed["last_error"]
    post.registry.refusing = False
    post.advance(days=1)
    assert post.tick(timers.resume_fanouts, post.registry) == {}


def test_staff_reach_their_own_group_through_the_robot_with_a_mention(post):
    handler = post.registry.person(mobile="13800000201")
    post.notify("tickets", "ticket_due_soon", responsible_id=handler)
    [wecom] = post.deliveries("d.channel = 'wecom'")
    assert (wecom["address"], wecom["mention"]) == ("wholesale_city", "13800000201")


def test_a_person_without_a_mobile_gets_no_sms_and_a_language_of_their_own(post):
    merchant = post.registry.merchant(mobile=None, language="en")
    post.notify("tickets", "ticket_resolved", merchant_id=merchant)
    assert [(d["channel"], d["language"]) for d in post.deliveries()] == [("inbox", "en")]
