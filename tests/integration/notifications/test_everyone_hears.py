"""Every person hears what concerns them, once: the real tickets and events services publish the
events of a demand's or an activity's life, the registry resolves the people, and each person's
own inbox — read as they would read it — holds exactly one message about it.

"Exactly one" is checked once everything is settled: every event the two services published that
the notifications service consumes has been handled (its id is in the handler's inbox table)."""

from datetime import datetime, timedelta

import pytest

from alliance_contracts import get_contract
from alliance_notifications.service import NotificationsService
from alliance_notifications.settings import handled_events
from tests.integration.notifications.conftest import SH, START
from tests.support.helpers import query, wait_until

HANDLED = handled_events(NotificationsService)


class Alliance:
    """The tickets and events services beside the notifications service and the registry."""

    def __init__(self, post, tickets, events):
        self.post, self.tickets, self.events = post, tickets, events

    def staff(self, roles=("staff",), district="wholesale_city", language="zh-CN", teams=()):
        with self.post.admin() as admin:
            person = admin.registry.register_person(
                name="张红", mobile=_mobile(), roles=list(roles), district_id=district, language=language,
                teams=list(teams),
            )  # fmt: skip
        self.known_to_tickets("people_directory", "person_id", person["person_id"])
        return person

    def shop(self):
        owner = self.post.register_person()
        shop = self.post.register_merchant(owner_id=owner["person_id"])
        self.known_to_tickets("merchant_directory", "merchant_id", shop["merchant_id"])
        return shop, owner

    def known_to_tickets(self, table, column, value):
        wait_until(
            lambda: query(self.tickets.config["DATABASE_URL"], f"SELECT 1 FROM {table} WHERE {column} = %s", (value,)),
            message=f"the tickets service to learn of {value}",
        )

    def submit(self, shop, owner, category="other"):
        with self.post.merchant(shop["merchant_id"], person_id=owner["person_id"]) as me:
            return me.tickets.submit_ticket(
                merchant_id=shop["merchant_id"],
                category=category,
                title="咨询门头招牌更换手续",
                description="店铺门头招牌老化，想了解更换需要办理哪些手续。",
                handling_mode="assisted",
            )

    def resolved(self, shop, owner, handler):
        """A demand of ``shop`` taken, handled and resolved by ``handler``."""
        ticket = self.submit(shop, owner)
        with self.post.staff(person_id=handler["person_id"]) as me:
            me.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
            me.tickets.start_ticket(ticket_id=ticket["ticket_id"])
            me.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="已告知所需材料并协助提交")
        return ticket

    def settled(self):
        """Wait until every consumed event the two services published has been handled."""

        def handled():
            for name, container in (("tickets", self.tickets), ("events", self.events)):
                rows = query(
                    container.config["DATABASE_URL"],
                    "SELECT event_id, event_type, published_at FROM outbox WHERE event_type = ANY(%s)",
                    ([event_type for source, event_type in HANDLED if source == name],),
                )
                if any(row["published_at"] is None for row in rows):
                    return False
                done = query(
                    self.post.database,
                    "SELECT handler, event_id FROM processed_events WHERE event_id = ANY(%s)",
                    ([row["event_id"] for row in rows],),
                )
                wanted = {(f"notifications.handle_{name}_{row['event_type']}", row["event_id"]) for row in rows}
                if not wanted <= {(row["handler"], row["event_id"]) for row in done}:
                    return False
            return True

        wait_until(handled, timeout=30, message="every published event to be handled by notifications")

    def inbox(self, client, source):
        """``client``'s own inbox messages from events of ``source`` (e.g. tickets.ticket_closed)."""
        with client as me:
            return [m for m in me.notifications.list_inbox(limit=100)["items"] if m["source"] == source]


_serial = iter(range(10_000_000, 99_999_999))


def _mobile():
    return f"137{next(_serial):08d}"


@pytest.fixture
def alliance(post, beside):
    """``alliance(sweep=3600)``: tickets (its SLA sweep every ``sweep`` seconds) and events started
    beside ``post``, their queues declared before the registry announces anyone."""

    def start(sweep=3600):
        tickets = beside(post, "tickets", SLA_SWEEP_INTERVAL=sweep)
        events = beside(post, "events", ACTIVITY_TIMER_INTERVAL=3600)
        return Alliance(post, tickets, events)

    return start


# --- the demand list ------------------------------------------------------------------------------


def test_a_reopened_ticket_reaches_its_owner_once_in_the_owners_language(alliance):
    world = alliance()
    owner = world.staff(language="en")
    colleague = world.staff()
    shop, shop_owner = world.shop()
    ticket = world.resolved(shop, shop_owner, owner)
    with world.post.merchant(shop["merchant_id"], person_id=shop_owner["person_id"]) as me:
        me.tickets.reopen_ticket(ticket_id=ticket["ticket_id"], reason="招牌审批材料还缺一份")
    world.settled()
    [message] = world.inbox(world.post.staff(person_id=owner["person_id"]), "tickets.ticket_reopened")
    assert message["title"] == f"Request {ticket['reference']} reopened"
    assert "招牌审批材料还缺一份" in message["body"]
    assert world.inbox(world.post.staff(person_id=colleague["person_id"]), "tickets.ticket_reopened") == []
    assert world.inbox(world.post.merchant(shop["merchant_id"]), "tickets.ticket_reopened") == []


def test_a_poor_rating_asks_the_districts_secretary_for_a_follow_up_call_on_the_timeline(alliance):
    world = alliance()
    handler = world.staff()
    secretary = world.staff(roles=["branch_secretary"])
    elsewhere = world.staff(roles=["branch_secretary"], district="aodele")
    shop, shop_owner = world.shop()
    ticket = world.resolved(shop, shop_owner, handler)
    merchant = world.post.merchant(shop["merchant_id"], person_id=shop_owner["person_id"])
    with merchant as me:
        me.tickets.close_ticket(ticket_id=ticket["ticket_id"], rating=1, comment="跑了三趟还没办好")
        merchant_timeline = me.tickets.timeline(ticket_id=ticket["ticket_id"])
    with world.post.staff(person_id=handler["person_id"]) as me:
        [task] = [e for e in me.tickets.timeline(ticket_id=ticket["ticket_id"]) if e["kind"] == "follow_up_call"]
    world.settled()

    # Due one working day of the centre's calendar after the rating: Tuesday morning to Wednesday's.
    rated_at, due = datetime.fromisoformat(task["at"]), datetime.fromisoformat(task["data"]["due_at"])
    assert (rated_at.astimezone(SH).date(), due - rated_at) == (START.date(), timedelta(days=1))
    assert task["data"] == {
        "rating": 1,
        "comment": "跑了三趟还没办好",
        "call_by": secretary["person_id"],
        "due_at": task["data"]["due_at"],
    }
    local = due.astimezone(SH)
    assert task["actor"] == "system:tickets"
    assert task["text"] == f"满意度评分1分：请于{local.month}月{local.day}日 {local:%H:%M}前回访商户"
    assert all(e["kind"] != "follow_up_call" for e in merchant_timeline), "the task is the staff's, not the shop's"
    [message] = world.inbox(world.post.staff(person_id=secretary["person_id"]), "tickets.follow_up_call_scheduled")
    assert message["title"] == f"请回访：诉求 {ticket['reference']} 评分1分"
    assert f"请于{local.month}月{local.day}日 {local:%H:%M}前电话回访商户" in message["body"]
    assert world.inbox(world.post.staff(person_id=elsewhere["person_id"]), "tickets.follow_up_call_scheduled") == []
    # The case is back with its owner, who hears of that once as well.
    assert len(world.inbox(world.post.staff(person_id=handler["person_id"]), "tickets.ticket_reopened")) == 1


def test_a_good_rating_or_seven_quiet_days_close_the_ticket_and_the_merchant_hears_it_once(alliance):
    world = alliance(sweep=0.1)
    handler = world.staff()
    shop, shop_owner = world.shop()
    rated = world.resolved(shop, shop_owner, handler)
    quiet = world.resolved(shop, shop_owner, handler)
    merchant = world.post.merchant(shop["merchant_id"], person_id=shop_owner["person_id"])
    with merchant as me:
        me.tickets.close_ticket(ticket_id=rated["ticket_id"], rating=5, comment="很满意")
    world.post.time.advance(days=8)
    wait_until(
        lambda: query(
            world.tickets.config["DATABASE_URL"], "SELECT 1 FROM tickets WHERE id = %s AND status = 'closed'",
            (quiet["ticket_id"],),
        ),
        message="the sweep to close the quiet ticket",
    )  # fmt: skip
    world.settled()
    messages = world.inbox(merchant, "tickets.ticket_closed")
    assert sorted(m["title"] for m in messages) == sorted(
        f"诉求 {t['reference']} 已办结归档" for t in (rated, quiet)
    ), "one message per closed ticket"
    by_ticket = {m["title"].split()[1]: m["body"] for m in messages}
    assert "感谢您的评价（5分）" in by_ticket[rated["reference"]]
    assert "已自动归档" in by_ticket[quiet["reference"]]
    assert world.inbox(world.post.staff(person_id=handler["person_id"]), "tickets.ticket_closed") == []


def test_a_ticket_routed_to_a_team_reaches_every_member_of_the_team(alliance):
    world = alliance()
    members = [
        world.staff(roles=["department_liaison"], teams=["government-liaisons"]),
        world.staff(roles=["department_liaison"], district="aodele", teams=["government-liaisons", "service-centre"]),
    ]
    outsider = world.staff(teams=["service-centre"])
    shop, shop_owner = world.shop()
    # Government affairs go to the department liaisons' team (config.yaml ROUTING_RULES), no one person.
    ticket = world.submit(shop, shop_owner, category="government_affairs")
    world.settled()
    for member in members:
        [message] = world.inbox(world.post.staff(person_id=member["person_id"]), "tickets.ticket_assigned")
        assert message["title"] == f"新诉求 {ticket['reference']} 交职能部门联络员办理"
    assert world.inbox(world.post.staff(person_id=outsider["person_id"]), "tickets.ticket_assigned") == []
    # The district's staff group is still told too.
    assert {d["recipient"] for d in world.post.deliveries("n.rule = 'ticket_new_for_district_staff'")} == {
        "group:wholesale_city"
    }


# --- activities -----------------------------------------------------------------------------------


def _activity(admin, capacity):
    starts = START + timedelta(days=10)
    created = admin.events.create_activity(
        title="新零售直播带货培训",
        type="training",
        description="传统底商门店新零售培训。",
        organisers=["wholesale_city"],
        venue="党群服务中心二楼会议室",
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=3)).isoformat(),
        registration_opens_at=START.isoformat(),
        registration_closes_at=(starts - timedelta(days=1)).isoformat(),
        capacity=capacity,
        audience={"kinds": ["merchants", "staff"], "districts": ["wholesale_city"]},
    )
    admin.events.publish_activity(activity_id=created["activity_id"])
    return created


def test_a_new_time_or_venue_reaches_everyone_confirmed_or_waiting_once_and_other_edits_nobody(alliance):
    world = alliance()
    seated, waiting, gone = world.post.register_person(), world.post.register_person(), world.post.register_person()
    with world.post.admin() as admin:
        training = _activity(admin, capacity=1)
        activity_id = training["activity_id"]
        for person in (seated, waiting, gone):
            registration = admin.events.register(
                activity_id=activity_id, person_id=person["person_id"], district_id="wholesale_city"
            )
        admin.events.cancel_registration(registration_id=registration["registration_id"])  # ``gone`` waited
        admin.events.update_activity(activity_id=activity_id, venue="德百物流批发城A区多功能厅")
        admin.events.update_activity(activity_id=activity_id, venue="德百物流批发城A区多功能厅")  # the same again
        admin.events.update_activity(activity_id=activity_id, theme_tags=["直播"], description="更新了课程介绍。")
    world.settled()
    for person in (seated, waiting):
        [message] = world.inbox(world.post.staff(person_id=person["person_id"]), "events.activity_updated")
        assert message["title"] == "活动变更：新零售直播带货培训"
        assert "德百物流批发城A区多功能厅" in message["body"]
    assert world.inbox(world.post.staff(person_id=gone["person_id"]), "events.activity_updated") == []
    published = [
        row["body"]["payload"]
        for row in query(
            world.events.config["DATABASE_URL"],
            "SELECT body::jsonb AS body FROM outbox WHERE event_type = 'activity_updated' ORDER BY id",
        )
    ]
    assert [p["changed"] for p in published] == [["venue"], ["description", "theme_tags"]]
    assert published[0]["registrant_ids"] == sorted([seated["person_id"], waiting["person_id"]])
    get_contract("events", "activity_updated").schema.load(published[0])


def test_a_cancelled_registration_is_confirmed_to_the_registrant_person_or_shop(alliance):
    world = alliance()
    person = world.post.register_person()
    shop, shop_owner = world.shop()
    with world.post.admin() as admin:
        training = _activity(admin, capacity=10)
        mine = admin.events.register(
            activity_id=training["activity_id"], person_id=person["person_id"], district_id="wholesale_city"
        )
        for_shop = admin.events.register(
            activity_id=training["activity_id"],
            person_id=shop_owner["person_id"],
            merchant_id=shop["merchant_id"],
            district_id="wholesale_city",
        )
        admin.events.cancel_registration(registration_id=mine["registration_id"])
        admin.events.cancel_registration(registration_id=for_shop["registration_id"])
    world.settled()
    [message] = world.inbox(world.post.staff(person_id=person["person_id"]), "events.registration_cancelled")
    assert message["title"] == "已取消报名：新零售直播带货培训" and "座位已让给其他报名者" in message["body"]
    [message] = world.inbox(world.post.merchant(shop["merchant_id"]), "events.registration_cancelled")
    assert message["recipient"] == f"merchant:{shop['merchant_id']}"
    assert world.inbox(world.post.staff(person_id=shop_owner["person_id"]), "events.registration_cancelled") == []
