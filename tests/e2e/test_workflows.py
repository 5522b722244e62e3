"""The alliance's four workflows across the four services running as real processes, with time
moved through the services' shared clock file and the channels' providers played by a local HTTP
server. Each test names the step of the workflow it checks."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alliance_platform.clock import ControlledTime
from alliance_platform.config import load_config
from alliance_platform.errors import Conflict
from alliance_platform.identity import TokenService
from alliance_platform.rpc import AllianceClient
from alliance_registry.domain.identifiers import make_credit_code
from tests.support.helpers import query, wait_until
from tests.support.http_sink import HttpSink

# Tuesday 1 December 2026, 10:00 in Dezhou: within trading hours, a working morning.
START = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def sink():
    return HttpSink()


@pytest.fixture
def clock(tmp_path):
    time = ControlledTime(tmp_path / "clock-offset")
    time.set(START)
    return time


@pytest.fixture
def system_env(clock, sink):
    return {
        "ALLIANCE_CLOCK_OFFSET_FILE": str(clock.path),
        "TICKETS_SLA_SWEEP_INTERVAL": "0.3",
        "EVENTS_ACTIVITY_TIMER_INTERVAL": "0.3",
        "REGISTRY_TRANSFER_CHECK_INTERVAL": "0.3",
        "NOTIFICATIONS_WECOM_ROBOTS": f"{{default: '{sink.url('/wecom')}'}}",
        "NOTIFICATIONS_SMS_GATEWAY_URL": sink.url("/sms"),
    }


class World:
    """The running alliance and the people in it, each with a token of their own."""

    def __init__(self, system, rabbit_config):
        self.databases = system[1]
        self.amqp_uri = rabbit_config["AMQP_URI"]
        self.tokens = TokenService.from_config(load_config("registry"))
        self.serial = 0

    def as_(self, subject, kind="staff", roles=("staff",), districts=("*",), merchant_id=None):
        token = self.tokens.issue(subject, kind, roles=list(roles), districts=list(districts), merchant_id=merchant_id)
        return AllianceClient(self.amqp_uri, token, timeout=15)

    def admin(self):
        return self.as_("admin-e2e", roles=["admin"])

    def person(self, alliance, name, roles=(), district="wholesale_city", skills=()):
        self.serial += 1
        return alliance.registry.register_person(
            name=name, mobile=f"1390000{self.serial:04d}", roles=list(roles), district_id=district, skills=list(skills)
        )

    def shop(self, alliance, name, district="wholesale_city", party_member_owner=False):
        self.serial += 1
        owner = self.person(alliance, f"{name}店主", district=district)
        if party_member_owner:
            alliance.registry.register_party_member(
                person_id=owner["person_id"], branch_id=f"branch_{district}", joined_on="2001-07-01"
            )
        merchant = alliance.registry.register_merchant(
            shop_name=name,
            district_id=district,
            category="服装",
            owner_id=owner["person_id"],
            credit_code=make_credit_code(f"913714000{self.serial:08d}"),
        )
        return merchant, owner

    def as_owner(self, merchant, owner):
        return self.as_(
            owner["person_id"], "merchant", ["merchant"], [merchant["district_id"]], merchant["merchant_id"]
        )

    def known_to_tickets(self, *merchants):
        wait_until(
            lambda: all(
                query(
                    self.databases["tickets"],
                    "SELECT 1 FROM merchant_directory WHERE merchant_id = %s",
                    (m["merchant_id"],),
                )
                for m in merchants
            ),
            message="the tickets service to learn of the merchants",
        )

    def inbox(self, client, title_part, count=1):
        """Wait until ``client``'s inbox holds ``count`` messages whose title contains ``title_part``."""

        def found():
            items = [m for m in client.notifications.list_inbox(limit=100)["items"] if title_part in m["title"]]
            return items if len(items) >= count else None

        return wait_until(found, timeout=30, message=f"a message '{title_part}' in the inbox")


@pytest.fixture
def world(system, rabbit_config):
    return World(system, rabbit_config)


def test_1_a_floating_party_member_finds_a_home(world, clock, sink):
    with world.admin() as admin:
        secretary = world.person(admin, "批发城支部书记", roles=["branch_secretary"])
        member = world.person(admin, "温州来的五金商", skills=["五金"])
        shop, _ = world.shop(admin, "鑫盛五金批发部")
        registered = admin.registry.register_party_member(
            person_id=member["person_id"],
            branch_id="branch_wholesale_city",
            joined_on="2008-07-01",
            floating={
                "home_organisation": "温州市某村党支部",
                "home_province": "浙江",
                "arrived_on": START.date().isoformat(),
            },
        )
        admin.registry.start_pairing(person_id=member["person_id"], merchant_id=shop["merchant_id"])
    assert registered["transfer_due_on"] == (date(2027, 6, 1)).isoformat()
    # Staff are told: the district's WeCom group hears of the new floating member.
    wait_until(lambda: any("流动党员" in str(r.body) for r in sink.received("/wecom")), message="the staff group told")
    # Pairing reaches the tickets service's read model (for routing Party affairs to him).
    wait_until(
        lambda: query(
            world.databases["tickets"],
            "SELECT active FROM pairing_directory WHERE member_id = %s",
            (member["person_id"],),
        ),
        message="the pairing known to tickets",
    )

    clock.advance(days=183)  # six months later
    with world.as_(secretary["person_id"], roles=["branch_secretary"], districts=["wholesale_city"]) as inbox:
        [reminder] = world.inbox(inbox, "流动党员组织关系待转入")
    assert "浙江" in reminder["body"]
    with world.as_(member["person_id"], roles=["party_member"]) as own:
        world.inbox(own, "组织关系")
    # The reminder goes out once, however often the registry's timer runs.
    assert (
        len(
            query(world.databases["registry"], "SELECT 1 FROM outbox WHERE event_type = 'floating_member_transfer_due'")
        )
        == 1
    )


def test_2_a_financing_demand_is_handled_jointly_and_an_overdue_one_escalates(world, clock):
    with world.admin() as admin:
        liaison = world.person(admin, "德州银行客户经理", roles=["department_liaison"], skills=["银企对接"])
        secretary = world.person(admin, "批发城支部书记", roles=["branch_secretary"])
        shop, owner = world.shop(admin, "恒通建材商行")
    world.known_to_tickets(shop)
    wait_until(
        lambda: query(
            world.databases["tickets"], "SELECT 1 FROM people_directory WHERE person_id = %s", (secretary["person_id"],)
        ),
        message="tickets to know the liaison and the secretary",
    )

    with world.as_owner(shop, owner) as merchant, world.as_(liaison["person_id"], roles=["department_liaison"]) as bank:
        ticket = merchant.tickets.submit_ticket(
            merchant_id=shop["merchant_id"],
            category="bank_financing",
            title="申请经营贷款",
            description="备货需要资金",
            handling_mode="assisted",
        )
        view = bank.tickets.get_ticket(ticket_id=ticket["ticket_id"])
        assert (view["style"], view["proposed_id"]) == ("expertise", liaison["person_id"]), (
            "routed to the bank's liaison"
        )
        world.inbox(merchant, "已受理")  # the merchant is told its demand was received
        world.inbox(bank, "交由您办理")  # the proposed responsible person is told
        bank.tickets.accept_ticket(ticket_id=ticket["ticket_id"])
        bank.tickets.start_ticket(ticket_id=ticket["ticket_id"])
        bank.tickets.refer_ticket(ticket_id=ticket["ticket_id"], partner="德州银行信贷部", note="小微贷")
        bank.tickets.record_partner_reply(ticket_id=ticket["ticket_id"], text="授信20万元")
        bank.tickets.resolve_ticket(ticket_id=ticket["ticket_id"], resolution="授信已批")
        world.inbox(merchant, "已办结")
        merchant.tickets.close_ticket(ticket_id=ticket["ticket_id"], rating=5, comment="满意")
        figures = bank.tickets.stats(
            since=(START - timedelta(days=1)).isoformat(), until=(START + timedelta(days=60)).isoformat()
        )
    assert figures["by_category"]["bank_financing"]["resolved"] == 1 and figures["total"]["average_rating"] == 5.0

    with world.as_owner(shop, owner) as merchant:
        late = merchant.tickets.submit_ticket(
            merchant_id=shop["merchant_id"],
            category="policy_consultation",
            title="咨询减免政策",
            description="想了解租金减免",
            handling_mode="on_the_spot",
        )
    clock.advance(days=3)  # nobody took it: both its deadlines pass, then the escalation levels
    wait_until(
        lambda: (
            len(query(world.databases["tickets"], "SELECT 1 FROM outbox WHERE event_type = 'ticket_escalated'")) == 2
        ),
        message="escalation to the branch, then to the alliance",
    )
    with world.as_(secretary["person_id"], roles=["branch_secretary"], districts=["wholesale_city"]) as branch:
        [escalated] = world.inbox(branch, "超时诉求上报")
    assert late["reference"] in escalated["title"]


def test_3_a_joint_themed_promotion(world, clock):
    with world.admin() as admin:
        shops = [
            world.shop(admin, f"联合促销商户{n}", district=d)
            for n, d in enumerate(["wholesale_city", "aodele", "outlets"])
        ]
    starts = START + timedelta(days=10)
    promotion = dict(
        type="themed_promotion",
        description="三大商圈联合端午主题活动",
        venue="德百奥莱广场中庭",
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=6)).isoformat(),
        registration_opens_at=START.isoformat(),
        registration_closes_at=(starts - timedelta(days=1)).isoformat(),
        audience={"kinds": ["merchants"], "districts": ["wholesale_city", "aodele", "outlets"]},
    )
    with world.as_("organiser", roles=["staff"]) as organiser:
        joint = organiser.events.create_activity(
            title="端午亲子露营节",
            organisers=["wholesale_city", "aodele", "outlets"],
            capacity=2,
            theme_tags=["露营", "端午"],
            **promotion,
        )
        organiser.events.publish_activity(activity_id=joint["activity_id"])
    with world.as_("aodele-staff", roles=["staff"], districts=["aodele"]) as aodele:
        rival = aodele.events.create_activity(
            title="澳德乐露营装备周", organisers=["aodele"], capacity=50, theme_tags=["露营"], **promotion
        )
        with pytest.raises(Conflict, match="端午亲子露营节"):
            aodele.events.publish_activity(activity_id=rival["activity_id"])

    outcomes = []
    for merchant, owner in shops:
        with world.as_owner(merchant, owner) as shop:
            world.inbox(shop, "端午亲子露营节")  # the audience was told of the promotion
            outcomes.append(shop.events.register(activity_id=joint["activity_id"]))
    assert [o["status"] for o in outcomes] == ["confirmed", "confirmed", "waitlisted"]
    (first, first_owner), _, (third, third_owner) = shops
    with world.as_owner(first, first_owner) as shop:
        world.inbox(shop, "报名成功")
        shop.events.cancel_registration(registration_id=outcomes[0]["registration_id"])
    with world.as_owner(third, third_owner) as shop:
        world.inbox(shop, "候补")
        world.inbox(shop, "候补名额待确认")  # offered when the first cancelled
        shop.events.accept_offer(registration_id=outcomes[2]["registration_id"])
        world.inbox(shop, "候补转正")  # the seat accepted
        [ticket] = shop.events.list_registrations(activity_id=joint["activity_id"])
        code = ticket["check_in_code"]

    clock.advance(days=9, hours=1)  # 23 hours before the start
    with world.as_owner(third, third_owner) as shop:
        world.inbox(shop, "活动提醒")
    clock.advance(hours=23, minutes=30)  # it has begun
    with world.as_("organiser", roles=["staff"]) as organiser:
        wait_until(
            lambda: organiser.events.get_activity(activity_id=joint["activity_id"])["status"] == "in_progress",
            message="the activity to start",
        )
        organiser.events.check_in(activity_id=joint["activity_id"], code=code)
        done = organiser.events.complete_activity(activity_id=joint["activity_id"])
        figures = organiser.events.stats(since=START.isoformat(), until=(START + timedelta(days=30)).isoformat())
    assert (done["attended"], done["no_shows"]) == (1, 1)
    # Points are the registry's ledger's (checked_in gives attended_activity there); events' stay 0.
    assert figures["top_participants"][0]["person_id"] == third_owner["person_id"] and figures["points_awarded"] == 0


def test_4_an_evaluation_becomes_an_honour(world, clock):
    with world.admin() as admin:
        (winner, owner), (other, _) = (
            world.shop(admin, name, party_member_owner=True) for name in ("红星党员示范服饰", "德百鞋业")
        )
        voters = [world.person(admin, f"党员{n}") for n in range(3)]
        for voter in voters:
            admin.registry.register_party_member(
                person_id=voter["person_id"], branch_id="branch_wholesale_city", joined_on="1999-07-01"
            )
    with world.as_("organiser", roles=["staff"]) as organiser:
        evaluation = organiser.events.create_activity(
            title="2026年度星级党员商户评选",
            type="evaluation",
            description="党员投票",
            organisers=["wholesale_city"],
            venue="服务中心",
            starts_at=(START + timedelta(days=1)).isoformat(),
            ends_at=(START + timedelta(days=2)).isoformat(),
            registration_opens_at=START.isoformat(),
            registration_closes_at=(START + timedelta(hours=1)).isoformat(),
            capacity=0,
            audience={"kinds": ["party_members"], "districts": []},
            evaluation={
                "kind": "star_party_member_merchant",
                "year": 2026,
                "winners": 1,
                "stars": 4,
                "voter_roles": ["party_member"],
                "voting_opens_at": START.isoformat(),
                "voting_closes_at": (START + timedelta(days=1)).isoformat(),
            },
        )
        organiser.events.publish_activity(activity_id=evaluation["activity_id"])
        for shop in (winner, other):
            organiser.events.nominate(
                activity_id=evaluation["activity_id"], merchant_id=shop["merchant_id"], reason="诚信经营"
            )
    for n, voter in enumerate(voters):
        with world.as_(voter["person_id"], roles=["party_member"]) as ballot:
            ballot.events.vote(
                activity_id=evaluation["activity_id"], merchant_id=(winner if n < 2 else other)["merchant_id"]
            )
    clock.advance(days=1, minutes=5)
    with world.as_("organiser", roles=["staff"]) as organiser:
        result = organiser.events.close_evaluation(activity_id=evaluation["activity_id"])
    assert [w["merchant_id"] for w in result["winners"]] == [winner["merchant_id"]]
    with world.admin() as admin:
        honours = wait_until(
            lambda: admin.registry.list_honours(merchant_id=winner["merchant_id"], kind="star_party_member_merchant")[
                "items"
            ],
            message="the registry to award the honour",
        )
    assert (honours[0]["stars"], honours[0]["year"]) == (4, 2026)
    with world.as_owner(winner, owner) as shop:
        [told] = world.inbox(shop, "荣誉")
    assert "星级党员商户" in told["body"]
