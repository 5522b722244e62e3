"""Escalation over the broker and the real database: an overdue demand reaches its owner's inbox
only; unread 30 working minutes later it goes to their district's WeCom robot (the escalate timer,
then the WeCom sender); read then, the SMS step after 120 is never sent; the inbox message's
history shows each step."""

from datetime import timedelta

from tests.support.helpers import wait_until


def test_an_unread_overdue_demand_goes_by_wecom_then_reading_it_stops_the_sms(post):
    owner = post.register_person(roles=["staff"])
    person = f"person:{owner['person_id']}"
    post.publish("tickets", "ticket_overdue", responsible_id=owner["person_id"])
    [inbox] = post.deliveries("d.channel = 'inbox'")
    post.ticks("escalate")
    assert [d["channel"] for d in post.deliveries()] == ["inbox"], "WeCom not before 30 working minutes"
    assert post.http.received("/wecom/wholesale_city") == []

    post.time.advance(minutes=30)
    [wecom] = post.wait_for("d.channel = 'wecom' AND d.status = 'sent'", message="step 1 sent on WeCom")
    assert wecom["recipient"] == person and wecom["event_id"] == inbox["event_id"]
    wait_until(lambda: len(post.http.received("/wecom/wholesale_city")) == 1, message="the robot got it")

    with post.staff(person_id=owner["person_id"]) as me:
        assert me.notifications.mark_read(ids=[inbox["id"]]) == {"marked": 1, "unread": 0}
    post.time.advance(minutes=120)
    post.ticks("escalate")
    assert [d["channel"] for d in post.deliveries()] == ["inbox", "wecom"], "read: no SMS"
    assert post.http.received("/sms") == []

    with post.operator() as ops:
        history = ops.notifications.delivery_status(delivery_id=inbox["id"])
    assert [(s["step"], s["channel"], s["status"], s["sent_delivery_id"]) for s in history["escalations"]] == [
        (1, "wecom", "sent", wecom["id"]),
        (2, "sms", "skipped_read", None),
    ]
    assert timedelta(0) <= wecom["due_at"] - inbox["created_at"] - timedelta(minutes=30) < timedelta(minutes=1)
