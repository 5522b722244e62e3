"""Over the broker with the events service beside: a seat freed by a cancellation is offered to the
first waiter, and the notifications service puts the offer, with its deadline, in the waiter's
inbox — and the accepted seat's confirmation, with the check-in code, after it."""

from datetime import datetime, timedelta

from tests.integration.notifications.conftest import SH, START


def _when(text):
    """A moment as the Chinese templates write it (the ``when`` filter), in Dezhou's time."""
    moment = datetime.fromisoformat(text).astimezone(SH)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def test_the_waiter_finds_the_seat_offered_with_its_deadline_in_their_inbox_then_its_confirmation(post, beside):
    beside(post, "events", ACTIVITY_TIMER_INTERVAL=3600)
    seated, waiter = post.register_person(), post.register_person(name="李秀英")
    starts = START + timedelta(days=7)
    with post.admin() as admin:
        created = admin.events.create_activity(
            title="新零售直播带货培训",
            type="training",
            description="传统底商门店新零售培训。",
            organisers=["wholesale_city"],
            venue="德百物流批发城党群服务中心",
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=2)).isoformat(),
            registration_opens_at=START.isoformat(),
            registration_closes_at=(starts - timedelta(days=1)).isoformat(),
            capacity=1,
            audience={"kinds": ["merchants", "party_members"]},
        )
        activity_id = created["activity_id"]
        admin.events.publish_activity(activity_id=activity_id)
        made = {
            person["person_id"]: admin.events.register(
                activity_id=activity_id, person_id=person["person_id"], district_id="wholesale_city"
            )
            for person in (seated, waiter)
        }
        assert made[waiter["person_id"]]["status"] == "waitlisted"
        outcome = admin.events.cancel_registration(registration_id=made[seated["person_id"]]["registration_id"])
    deadline = outcome["offered"]["offer"]["expires_at"]
    assert outcome["offered"]["person_id"] == waiter["person_id"]

    [delivery] = post.wait_for("n.rule = 'seat_offered_person' AND d.channel = 'inbox'")
    assert delivery["recipient"] == f"person:{waiter['person_id']}" and delivery["urgency"] == "urgent"
    with post.staff(person_id=waiter["person_id"]) as me:
        [offer] = [m for m in me.notifications.list_inbox()["items"] if m["title"].startswith("候补名额待确认")]
        assert offer["title"] == "候补名额待确认：新零售直播带货培训"
        assert f"请在{_when(deadline)}前确认参加" in offer["body"]
        assert offer["recipient"] == f"person:{waiter['person_id']}"
        accepted = me.events.accept_offer(registration_id=made[waiter["person_id"]]["registration_id"])
    post.wait_for("n.rule = 'offer_accepted_person' AND d.channel = 'inbox'")
    with post.staff(person_id=waiter["person_id"]) as me:
        [confirmed] = [m for m in me.notifications.list_inbox()["items"] if m["title"].startswith("候补转正")]
    assert accepted["check_in_code"] in confirmed["body"]
    with post.staff(person_id=seated["person_id"]) as them:
        assert not [m for m in them.notifications.list_inbox()["items"] if "候补" in m["title"]], "only the waiter"
