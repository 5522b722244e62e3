"""A whole day, then silence: the four services as real processes take the demo's day (its four
workflows) and every other turn of a demand's or an activity's life that someone must hear of —
a rated close then a dispute, a poor rating, a demand routed to a team, a resolution left quiet
until it closes itself, a new venue and time, a cancelled seat — beside the facts nobody consumes
(a check-in, a revoked honour), which must hold up nothing.

Then everything settles: each person concerned has exactly one message of each, every outbox is
empty, readiness reports nothing failing and no service logged an error. Time moves through the
services' shared clock file; SMS and WeCom go to a local HTTP server."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from alliance_ops import demo_data
from alliance_ops.demo import Day
from alliance_ops.supervisor import health_url
from alliance_platform.clock import ControlledTime
from alliance_platform.config import load_config
from tests.e2e.test_workflows import World
from tests.support.helpers import get_json, query, wait_until
from tests.support.http_sink import HttpSink
from tests.support.settled import subscribers, wait_settled

GOVERNMENT_TEAM = "government-liaisons"  # where tickets' ROUTING_RULES send government affairs


@pytest.fixture
def sink():
    return HttpSink()


@pytest.fixture
def clock(tmp_path):
    # No offset at first: the demo's day runs on the real time (its vote waits out a real window).
    return ControlledTime(tmp_path / "clock-offset")


@pytest.fixture
def system_env(clock, sink):
    return {
        "ALLIANCE_CLOCK_OFFSET_FILE": str(clock.path),
        "TICKETS_SLA_SWEEP_INTERVAL": "0.2",
        "EVENTS_ACTIVITY_TIMER_INTERVAL": "0.3",
        "REGISTRY_TRANSFER_CHECK_INTERVAL": "0.3",
        "NOTIFICATIONS_WECOM_ROBOTS": f"{{default: '{sink.url('/wecom')}'}}",
        "NOTIFICATIONS_SMS_GATEWAY_URL": sink.url("/sms"),
    }


def inbox(client, source, mark):
    """``client``'s own inbox messages from ``source`` events whose title names ``mark``."""
    found, cursor = [], None
    with client as me:
        while True:
            page = me.notifications.list_inbox(limit=100, cursor=cursor)
            found += [m for m in page["items"] if m["source"] == source and mark in m["title"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found


def team_member(world, admin, name, district):
    world.serial += 1
    return admin.registry.register_person(
        name=name, mobile=f"1380000{world.serial:04d}", roles=["department_liaison"], district_id=district,
        teams=[GOVERNMENT_TEAM],
    )  # fmt: skip


def demand(merchant, shop, title, category="other"):
    return merchant.tickets.submit_ticket(
        merchant_id=shop["merchant_id"],
        category=category,
        title=title,
        description=f"{title}，请帮忙办理。",
        handling_mode="assisted",
    )


def handled(desk, ticket, resolution="已办理完毕"):
    desk.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
    desk.tickets.start_ticket(ticket_id=ticket["ticket_id"])
    desk.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution=resolution)


def test_a_whole_day_then_silence(system, rabbit_config, client, clock):
    _, databases, output = system
    world = World(system, rabbit_config)
    with client(timeout=30) as alliance:
        demo_data.load(alliance, per_district=6)
    story = io.StringIO()
    Day(console=Console(file=story, width=200)).play()
    assert "The day is over." in story.getvalue(), story.getvalue()
    wait_settled(databases)  # the tickets service knows the demo's people (a district's secretary)

    with world.admin() as admin:
        handler = world.person(admin, "服务中心接待员", roles=["staff"])
        outsider = world.person(admin, "奥莱商圈工作人员", roles=["staff"], district="outlets")
        team = [
            team_member(world, admin, "市场监管所联络员", "wholesale_city"),
            team_member(world, admin, "税务所联络员", "aodele"),
        ]
        seated, waiting, gone = (world.person(admin, f"培训学员{n}", roles=["staff"]) for n in range(3))
        shop, owner = world.shop(admin, "德百鸿运日用百货")
        [plaque] = admin.registry.list_honours(kind="party_member_business_plaque", limit=1)["items"]
    world.known_to_tickets(shop)
    merchant = world.as_owner(shop, owner)
    desk = world.as_(handler["person_id"], districts=["wholesale_city"])

    # A rated close, then a dispute: the owner hears of the reopening; resolved again, it is left quiet.
    with merchant as app, desk as staff:
        disputed = demand(app, shop, "更换门头招牌")
        handled(staff, disputed)
        app.tickets.close_ticket(ticket_id=disputed["ticket_id"], rating=4, comment="基本满意")
        app.tickets.reopen_ticket(ticket_id=disputed["ticket_id"], reason="审批材料还缺一份")
        staff.tickets.resolve_ticket(ticket_id=disputed["ticket_id"], resolution="材料已补齐")
        # A poor rating: back to work, and a follow-up call (回访) for the district's secretary.
        rated_poorly = demand(app, shop, "办理消防验收")
        handled(staff, rated_poorly)
        app.tickets.close_ticket(ticket_id=rated_poorly["ticket_id"], rating=2, comment="跑了三趟")
        [call] = [
            e for e in staff.tickets.timeline(ticket_id=rated_poorly["ticket_id"]) if e["kind"] == "follow_up_call"
        ]
        # Resolved and never confirmed: it closes itself after seven days.
        quiet = demand(app, shop, "咨询租金减免")
        handled(staff, quiet)
        # Government affairs go to a team, not to one person.
        for_team = demand(app, shop, "申请临时占道经营许可", category="government_affairs")
        assert staff.tickets.get_ticket(ticket_id=for_team["ticket_id"])["team"] == GOVERNMENT_TEAM

    # A published activity changes venue and time with people seated and waiting; one gave up first.
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    with world.as_("organiser", roles=["staff"]) as organiser:
        training = organiser.events.create_activity(
            title="商户消防安全培训",
            type="training",
            description="消防器材使用与疏散演练。",
            organisers=["wholesale_city"],
            venue="党群服务中心二楼会议室",
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=2)).isoformat(),
            registration_opens_at=datetime.now(UTC).isoformat(),
            registration_closes_at=(starts - timedelta(days=1)).isoformat(),
            capacity=1,
            audience={"kinds": ["staff"], "districts": ["wholesale_city"]},
        )
        activity_id = training["activity_id"]
        organiser.events.publish_activity(activity_id=activity_id)
        registrations = {}
        for person in (seated, waiting, gone):
            with world.as_(person["person_id"], districts=["wholesale_city"]) as me:
                registrations[person["person_id"]] = me.events.register(activity_id=activity_id)
        assert [registrations[p["person_id"]]["status"] for p in (seated, waiting, gone)] == [
            "confirmed",
            "waitlisted",
            "waitlisted",
        ]
        with world.as_(gone["person_id"], districts=["wholesale_city"]) as me:
            me.events.cancel_registration(registration_id=registrations[gone["person_id"]]["registration_id"])
        later = starts + timedelta(hours=1)
        organiser.events.update_activity(
            activity_id=activity_id,
            venue="德百物流批发城A区多功能厅",
            starts_at=later.isoformat(),
            ends_at=(later + timedelta(hours=2)).isoformat(),
        )
        # Facts nobody consumes: a check-in, a revoked honour.
        organiser.events.check_in(activity_id=activity_id, code=registrations[seated["person_id"]]["check_in_code"])
    with world.admin() as admin:
        admin.registry.revoke_honour(honour_id=plaque["honour_id"], reason="经营范围变更，牌匾收回")

    clock.advance(days=8)  # a week and a day: the two quiet resolutions close themselves
    wait_until(
        lambda: (
            len(
                query(
                    databases["tickets"],
                    "SELECT 1 FROM tickets WHERE id = ANY(%s) AND status = 'closed'",
                    ([disputed["ticket_id"], quiet["ticket_id"]],),
                )
            )
            == 2
        ),
        timeout=30,
        message="the sweep to close the quiet resolutions",
    )
    wait_settled(databases, timeout=60)

    def told(client, source, mark, times=1):
        messages = inbox(client, source, mark)
        assert len(messages) == times, f"{source} about {mark}: {[m['title'] for m in messages]}"
        return messages

    by_shop = world.as_owner(shop, owner)
    # The dispute: its owner hears once; the merchant hears of each resolution and each close.
    told(world.as_(handler["person_id"]), "tickets.ticket_reopened", disputed["reference"])
    told(by_shop, "tickets.ticket_resolved", disputed["reference"], times=2)
    closes = told(by_shop, "tickets.ticket_closed", disputed["reference"], times=2)
    assert sorted("已自动归档" in m["body"] for m in closes) == [False, True], "rated, then closed by itself"
    # The poor rating: the supervisor is asked to call, the owner has the case back, nothing closed.
    secretary = call["data"]["call_by"]
    assert secretary is not None, call
    with world.admin() as admin:
        assert "branch_secretary" in admin.registry.get_person(person_id=secretary)["roles"]
    told(
        world.as_(secretary, roles=["branch_secretary"]), "tickets.follow_up_call_scheduled", rated_poorly["reference"]
    )
    told(world.as_(handler["person_id"]), "tickets.ticket_reopened", rated_poorly["reference"])
    told(by_shop, "tickets.ticket_closed", rated_poorly["reference"], times=0)
    # The quiet one: closed by itself, the merchant told once.
    [closed] = told(by_shop, "tickets.ticket_closed", quiet["reference"])
    assert "已自动归档" in closed["body"]
    # The team's demand: every member of the team (the demo's liaison too), nobody else.
    members = [
        row["id"]
        for row in query(
            databases["registry"], "SELECT id::text FROM people WHERE teams @> ARRAY[%s]", (GOVERNMENT_TEAM,)
        )
    ]
    assert {m["person_id"] for m in team} < set(members)
    for member in members:
        told(world.as_(member, roles=["department_liaison"]), "tickets.ticket_assigned", for_team["reference"])
    told(world.as_(outsider["person_id"]), "tickets.ticket_assigned", for_team["reference"], times=0)
    # The activity: those seated or waiting hear of the new venue and time once; who cancelled
    # hears of the cancellation instead, as does the shop that gave up its seat in the demo's day.
    for person in (seated, waiting):
        [changed] = told(world.as_(person["person_id"]), "events.activity_updated", training["title"])
        assert "德百物流批发城A区多功能厅" in changed["body"]
    told(world.as_(gone["person_id"]), "events.activity_updated", training["title"], times=0)
    told(world.as_(gone["person_id"]), "events.registration_cancelled", training["title"])
    given_up = query(
        databases["events"],
        "SELECT r.merchant_id::text, a.title FROM registrations r JOIN activities a ON a.id = r.activity_id"
        " WHERE r.status = 'cancelled' AND r.merchant_id IS NOT NULL",
    )
    assert given_up, "the demo's day has a shop give up its seat"
    for row in given_up:
        told(
            world.as_("rep", "merchant", ["merchant"], ["*"], row["merchant_id"]),
            "events.registration_cancelled",
            row["title"],
        )

    # Silence: nothing left in any outbox, nothing failing, every relay able to publish, no error.
    wait_until(
        lambda: (
            not any(
                query(databases[name], "SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1") for name in databases
            )
        ),
        timeout=60,
        message="every outbox drained",
    )
    for name in databases:
        status, report = get_json(health_url(load_config(name)))
        assert status == 200, report
        assert (report["outbox"]["failing"], report["dead_letters"]) == (0, 0), report
        assert report["relay"]["state"] in ("publishing", "standby"), report
    # Events nobody subscribes to went out unrouted, and only those.
    consumed = subscribers()
    unrouted = {
        name: {row["event_type"] for row in query(databases[name], "SELECT event_type FROM outbox WHERE unrouted")}
        for name in databases
    }
    # (checked_in is heard now: the registry's points ledger subscribes to it.)
    assert "honour_revoked" in unrouted["registry"] and "feedback_received" in unrouted["tickets"], unrouted
    assert "checked_in" not in unrouted["events"], unrouted
    assert not [(name, t) for name, types in unrouted.items() for t in types if (name, t) in consumed], unrouted
    # Console lines carry their level as "[error    ]"; a traceback no logger wrote is an error too.
    errors = [
        line for line in output.getvalue().splitlines() if any(m in line for m in ("[error", "[critical", "Traceback"))
    ]
    assert errors == [], "\n".join(errors)
