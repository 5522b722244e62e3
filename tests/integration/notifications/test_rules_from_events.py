"""Every rule produces the expected notifications from real events: recipients resolved by the real
registry, and — for activities and demands — events published by the real events and tickets
services over the broker."""

from datetime import timedelta

from tests.integration.notifications.conftest import START
from tests.support.helpers import query, wait_until


def _by_rule(post):
    found = {}
    for d in post.deliveries():
        found.setdefault(d["rule"], set()).add((d["recipient"], d["channel"]))
    return found


def test_demand_events_reach_the_merchant_the_handlers_and_the_groups(post):
    shop = post.register_merchant()
    handler = post.register_person(roles=["staff"])
    secretary = post.register_person(roles=["branch_secretary"])
    merchant, person = f"merchant:{shop['merchant_id']}", f"person:{handler['person_id']}"
    post.publish("tickets", "ticket_submitted", merchant_id=shop["merchant_id"])
    post.publish("tickets", "ticket_assigned", assignee_id=handler["person_id"])
    post.publish("tickets", "ticket_status_changed", merchant_id=shop["merchant_id"])
    post.publish("tickets", "ticket_status_changed", merchant_id=shop["merchant_id"], to_status="in_progress")
    post.publish("tickets", "ticket_resolved", merchant_id=shop["merchant_id"])
    post.publish("tickets", "ticket_due_soon", responsible_id=handler["person_id"])
    post.publish("tickets", "ticket_overdue", responsible_id=handler["person_id"])
    post.publish("tickets", "ticket_overdue")  # nobody owns it yet: the district's group
    post.publish("tickets", "ticket_escalated", escalated_to_id=secretary["person_id"])
    post.publish("tickets", "ticket_escalated", example=1)
    assert _by_rule(post) == {
        "ticket_received": {(merchant, "inbox"), (merchant, "sms")},
        "ticket_new_for_district_staff": {("group:wholesale_city", "wecom")},
        "ticket_proposed_to_assignee": {(person, "inbox"), (person, "wecom")},
        "ticket_waiting_on_merchant": {(merchant, "inbox"), (merchant, "sms")},
        "ticket_resolved": {(merchant, "inbox"), (merchant, "sms")},
        "ticket_due_soon": {(person, "inbox"), (person, "wecom")},
        "ticket_overdue_to_owner": {(person, "inbox")},  # WeCom, then SMS, only while unread
        "ticket_overdue_unowned": {("group:wholesale_city", "wecom")},
        "ticket_escalated_to_secretary": {(f"person:{secretary['person_id']}", c) for c in ("inbox", "wecom", "sms")},
        "ticket_escalated_to_group": {("group:alliance", "wecom"), ("group:alliance", "dingtalk")},
    }


def test_activity_events_reach_the_audience_the_registrants_and_the_confirmed(post):
    shops = [post.register_merchant(district=d) for d in ("outlets", "outlets", "aodele", "wholesale_city")]
    members = [post.register_person(roles=[], district=d) for d in ("outlets", "aodele")]
    with post.admin() as admin:
        for member in members:
            admin.registry.register_party_member(
                person_id=member["person_id"], branch_id="branch_outlets", joined_on="2010-07-01"
            )
    outlets = {f"merchant:{s['merchant_id']}" for s in shops[:2]}
    post.publish(
        "events", "activity_published", audience={"kinds": ["merchants", "party_members"], "districts": ["outlets"]}
    )
    reached = {d["recipient"] for d in post.deliveries("n.rule = 'activity_published' AND d.channel = 'inbox'")}
    assert reached == outlets | {f"person:{members[0]['person_id']}"}, "the outlets' shops and Party members only"

    registrant = members[1]["person_id"]
    post.publish("events", "activity_cancelled", registrant_ids=[registrant, "p-legacy"])
    post.publish("events", "registration_confirmed", merchant_id=shops[2]["merchant_id"])
    post.publish("events", "registration_waitlisted", person_id=registrant)
    post.publish("events", "registration_promoted", person_id=registrant)
    post.publish("events", "activity_reminder_due", person_ids=[registrant])
    found = _by_rule(post)
    assert found["activity_cancelled"] == {
        (f"person:{registrant}", "inbox"),
        (f"person:{registrant}", "wecom"),
        ("person:p-legacy", "inbox"),  # an id the registry cannot know still has an inbox
    }
    assert found["registration_confirmed_shop"] == {
        (f"merchant:{shops[2]['merchant_id']}", c) for c in ("inbox", "sms")
    }
    assert {r for r, _ in found["registration_waitlisted_person"]} == {f"person:{registrant}"}
    assert {r for r, _ in found["registration_promoted_person"]} == {f"person:{registrant}"}
    assert {r for r, _ in found["activity_reminder_day_before"]} == {f"person:{registrant}"}


def test_register_events_reach_the_honoured_shop_the_floating_member_and_the_branch_secretary(post):
    shop = post.register_merchant()
    member = post.register_person(roles=[], district="aodele")
    secretaries = [post.register_person(roles=["branch_secretary"], district=d) for d in ("aodele", "outlets")]
    post.publish("registry", "honour_awarded", merchant_id=shop["merchant_id"])
    post.publish("registry", "floating_member_transfer_due", person_id=member["person_id"], district_id="aodele")
    found = _by_rule(post)
    assert found["honour_awarded"] == {(f"merchant:{shop['merchant_id']}", c) for c in ("inbox", "sms")}
    assert {r for r, _ in found["floating_transfer_due_member"]} == {f"person:{member['person_id']}"}
    assert {r for r, _ in found["floating_transfer_due_secretary"]} == {f"person:{secretaries[0]['person_id']}"}


def test_an_activity_published_by_the_events_service_reaches_the_registrys_merchants(post, beside):
    beside(post, "events", ACTIVITY_TIMER_INTERVAL=3600)
    shops = [post.register_merchant(district="outlets") for _ in range(3)]
    starts = START + timedelta(days=7)
    with post.admin() as admin:
        created = admin.events.create_activity(
            title="端午亲子露营节",
            type="themed_promotion",
            description="三大商圈联合举办的端午主题消费活动。",
            organisers=["outlets"],
            venue="德百奥莱广场中庭",
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=8)).isoformat(),
            registration_opens_at=START.isoformat(),
            registration_closes_at=(starts - timedelta(days=1)).isoformat(),
            capacity=100,
            audience={"kinds": ["merchants"], "districts": ["outlets"]},
            theme_tags=["露营"],
        )
        admin.events.publish_activity(activity_id=created["activity_id"])
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'", count=3)
    assert {r.body["to"] for r in post.http.received("/sms")} == {s["contact_phone"] for s in shops}
    assert "端午亲子露营节" in post.http.received("/sms")[0].body["text"]


def test_a_demand_submitted_to_the_tickets_service_reaches_its_merchant(post, beside):
    # Its queues exist before the registry announces the merchant.
    tickets = beside(post, "tickets", SLA_SWEEP_INTERVAL=3600)
    shop = post.register_merchant()
    wait_until(
        lambda: query(tickets.config["DATABASE_URL"], "SELECT 1 FROM merchant_directory"),
        message="tickets to learn of the shop",
    )
    with post.merchant(shop["merchant_id"]) as me:
        ticket = me.tickets.submit_ticket(
            merchant_id=shop["merchant_id"],
            category="bank_financing",
            title="申请小微企业经营贷款",
            description="店铺扩大经营，需要周转资金约50万元。",
            handling_mode="assisted",
        )
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    [sms] = post.http.received("/sms")
    assert sms.body["to"] == shop["contact_phone"] and ticket["reference"] in sms.body["text"]
    with post.merchant(shop["merchant_id"]) as me:
        assert me.notifications.list_inbox()["items"][0]["title"] == f"诉求已受理：{ticket['reference']}"


def test_branch_meetings_reach_the_invitees_and_an_overdue_branchs_secretary(post):
    invitees = [post.register_person(district="aodele") for _ in range(2)]
    secretaries = [post.register_person(roles=["branch_secretary"], district=d) for d in ("aodele", "outlets")]
    ids = [p["person_id"] for p in invitees]
    post.publish("events", "meeting_planned", person_ids=ids, district_id="aodele")
    post.publish("events", "meeting_cancelled", person_ids=ids[:1], district_id="aodele")
    post.publish("events", "branch_meeting_overdue")  # the Aodele branch missed November's committee
    found = _by_rule(post)
    assert {r for r, _ in found["meeting_planned"]} == {f"person:{i}" for i in ids}
    assert {r for r, _ in found["meeting_cancelled"]} == {f"person:{ids[0]}"}
    assert {r for r, _ in found["branch_meeting_overdue"]} == {f"person:{secretaries[0]['person_id']}"}
    [row] = query(post.database, "SELECT content FROM notifications WHERE rule = 'branch_meeting_overdue'")
    overdue = row["content"]["zh-CN"]
    assert overdue["title"] == "三会一课提醒：支部委员会逾期未开"
    assert "澳德乐时代广场党支部应每月至少召开一次支部委员会" in overdue["body"] and "2026年11月30日" in overdue["body"]
