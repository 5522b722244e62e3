"""Every channel delivers to its local stand-in: SMS to the HTTP gateway, WeCom and DingTalk to
their robots (the HTTP sink), e-mail to the SMTP server; each answer is kept and announced."""

import base64
import hashlib
import hmac
import uuid
from email import message_from_string, policy

from tests.integration.notifications.conftest import DINGTALK_SECRET, SMS_KEY
from tests.support.helpers import wait_until


def test_an_sms_goes_to_the_gateway_signed_within_one_message_and_is_announced(post):
    shop = post.register_merchant(phone="13900000101")
    event = post.publish("tickets", "ticket_submitted", merchant_id=shop["merchant_id"])
    [sms] = post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    [request] = post.http.received("/sms")
    assert request.headers["Authorization"] == f"Bearer {SMS_KEY}"
    assert request.body["to"] == "13900000101" and request.body["reference"] == str(sms["id"])
    assert (
        request.body["text"].startswith("【红星德百】您的诉求DM-2026-000123已受理") and len(request.body["text"]) <= 70
    )
    assert sms["provider_answer"].startswith("200") and sms["attempts"] == 1
    [inbox] = post.deliveries("d.channel = 'inbox'")
    assert inbox["recipient"] == f"merchant:{shop['merchant_id']}" and inbox["status"] == "sent"
    delivered = wait_until(lambda: [e for e in post.payloads("notification_delivered") if e["channel"] == "sms"])
    assert delivered[0]["event_id"] == str(uuid.UUID(event["event_id"])) and delivered[0]["rule"] == "ticket_received"
    assert "13900000101" not in str(delivered), "events name recipients, never their phone numbers"


def test_wecom_robots_post_to_the_districts_group_and_mention_the_staff_member(post):
    handler = post.register_person(roles=["staff"], district="wholesale_city", phone="13800000201")
    post.publish("tickets", "ticket_assigned", assignee_id=handler["person_id"])
    post.publish("tickets", "ticket_submitted", merchant_id=post.register_merchant()["merchant_id"])
    post.wait_for("d.channel = 'wecom' AND d.status = 'sent'", count=2)
    to_person, to_group = sorted(
        post.http.received("/wecom/wholesale_city"), key=lambda r: "mentioned" not in str(r.body)
    )
    assert to_person.body["msgtype"] == "text" and to_person.body["text"]["mentioned_mobile_list"] == ["13800000201"]
    assert "DM-2026-000123" in to_person.body["text"]["content"]
    assert "mentioned_mobile_list" not in to_group.body["text"] and "新诉求" in to_group.body["text"]["content"]


def test_dingtalk_robots_sign_every_request_with_the_groups_secret(post):
    post.publish("tickets", "ticket_escalated", example=1)  # level 2: the alliance's group
    [sent] = post.wait_for("d.channel = 'dingtalk' AND d.status = 'sent'")
    assert sent["recipient"] == "group:alliance" and sent["urgent"] is True
    [request] = post.http.received("/dingtalk/alliance")
    timestamp, sign = request.query["timestamp"][0], request.query["sign"][0]
    expected = hmac.new(DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    assert request.query["access_token"] == ["t0"] and base64.b64decode(sign) == expected
    assert "超时诉求上报" in request.body["text"]["content"] and request.body["at"]["atMobiles"] == []


def test_email_goes_through_smtp_to_whoever_switched_it_on(post, smtp):
    secretary = post.register_person(roles=["branch_secretary"], district="wholesale_city", language="en")
    address = f"secretary-{uuid.uuid4().hex[:8]}@example.com"
    with post.staff(person_id=secretary["person_id"]) as me:
        me.notifications.set_preferences(channels={"demands": {"email": True}}, email=address)
    post.publish("tickets", "ticket_escalated", escalated_to_id=secretary["person_id"])
    [mail] = post.wait_for("d.channel = 'email' AND d.status = 'sent'")
    [received] = wait_until(lambda: [m for m in smtp.messages() if address in m["to"]], message="the mail")
    message = message_from_string(received["data"], policy=policy.default)
    assert message["Subject"] == "Overdue request escalated: DM-2026-000123" and message["To"] == address
    assert "escalated to the branch secretary" in message.get_content()
    assert mail["provider_answer"].startswith("250 2.0.0 OK queued as")


def test_an_address_the_mail_server_refuses_is_dead_at_once_and_a_busy_one_is_retried(post, smtp):
    refused, busy = (f"{kind}-{uuid.uuid4().hex[:8]}@example.com" for kind in ("gone", "busy"))
    smtp.refuse(refused, "550 5.1.1 no such mailbox")
    smtp.refuse(busy, "451 4.3.0 try again later")
    for address in (refused, busy):
        person = post.register_person(roles=["branch_secretary"])
        with post.staff(person_id=person["person_id"]) as me:
            me.notifications.set_preferences(channels={"*": {"email": True}}, email=address)
        post.publish("tickets", "ticket_escalated", escalated_to_id=person["person_id"])
    dead = post.wait_for("d.channel = 'email' AND d.address = %s AND d.status = 'dead'", (refused,))[0]
    failed = post.wait_for("d.channel = 'email' AND d.address = %s AND d.status = 'failed'", (busy,))[0]
    assert dead["attempts"] == 1 and dead["last_error"].startswith("550")
    assert failed["last_error"].startswith("451") and failed["due_at"] > post.now()


def test_long_texts_are_cut_to_one_sms(post):
    person = post.register_person()
    with post.system("crm") as crm:
        crm.notifications.send(
            idempotency_key="long-1", person_ids=[person["person_id"]], title="通知", body="长" * 300, channels=["sms"]
        )
    post.wait_for("d.channel = 'sms' AND d.status = 'sent'")
    [request] = post.http.received("/sms")
    assert len(request.body["text"]) == 70 and request.body["text"].endswith("…")
