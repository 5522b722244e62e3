"""``make demo``: a scripted day at the Red Star Debai service centre, against the running system.

Each step says who does what, which service answers and what came of it, in plain words. It uses
only the services' RPC, with the identities of the people of the demo register (``make run`` loads
it), so it shows what another system integrating with the alliance would see. Run it as often as
you like: each run is a new day, with its own demand, promotion and evaluation.
"""

import random
import re
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from faker import Faker
from rich.console import Console
from rich.panel import Panel

from alliance_platform.config import load_config
from alliance_platform.errors import AllianceError, Conflict
from alliance_platform.identity import TokenService
from alliance_platform.rpc import AllianceClient

from .demo_data import PARTNERS

# The partner bank the demo register adds (demo_data.PARTNERS): financing demands are referred to it.
PARTNER_BANK = PARTNERS[0][0]["organisation_id"]


class Day:
    def __init__(self, console=None):
        self.console = console or Console()
        config = load_config("registry")
        self.amqp_uri = config["AMQP_URI"]
        self.tokens = TokenService.from_config(config)
        self.fake = Faker("zh_CN")
        self.rng = random.Random()

    # --- saying what happens -------------------------------------------------------------------

    def act(self, title, story):
        self.console.print(Panel(story, title=f"[bold]{title}[/bold]", expand=False))

    def step(self, who, what, service, outcome):
        self.console.print(f"  [cyan]{who}[/cyan] {what}\n    → [magenta]{service}[/magenta] {outcome}")

    def client(self, subject, kind, roles, districts=(), merchant_id=None):
        token = self.tokens.issue(subject, kind, roles=roles, districts=districts, merchant_id=merchant_id, ttl=3600)
        return AllianceClient(self.amqp_uri, token, timeout=15)

    def operator(self):
        return self.client("service-centre-demo", "system", ["admin", "system"], ["*"])

    # --- the day -------------------------------------------------------------------------------

    def play(self):
        with self.operator() as alliance:
            self.cast = self._cast(alliance)
        self.console.print(
            f"[bold]A day at the Red Star Debai Party-Masses Service Centre[/bold] — {date.today().isoformat()}\n"
            f"Today's people: staff {self.cast['staff']['name']} (Wholesale City), "
            f"liaison {self.cast['liaison']['name']}, merchant {self.cast['shop']['shop_name']}.\n"
        )
        self.floating_member_finds_a_home()
        self.financing_demand()
        self.joint_promotion()
        self.evaluation()
        self.branch_meeting()
        self.console.print(
            "\n[bold green]The day is over.[/bold green] See `alliance status` and `alliance tickets list`."
        )
        self.console_sign_in()

    def console_sign_in(self):
        """Ask for a one-time code for the day's staff member, as the sign-in page does, and read it
        from their inbox (in development SMS goes nowhere): what a newcomer needs to sign in."""
        staff = self.cast["staff"]
        port = str(load_config("gateway")["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[-1]
        url = f"http://127.0.0.1:{port}/console"
        with AllianceClient(self.amqp_uri, None, timeout=15) as anonymous:
            try:
                anonymous.registry.request_sign_in_code(mobile=staff["mobile"])
            except Conflict as exc:
                self.console.print(f"\nThe staff console: {url} — {exc} (a code was asked for moments ago)")
                return
        code = None
        deadline = time.monotonic() + 15
        with self.client(staff["person_id"], "staff", ["staff"], [staff["district_id"]]) as own:
            while code is None and time.monotonic() < deadline:
                for message in own.notifications.list_inbox(limit=5)["items"]:
                    found = re.search(r"\b(\d{6})\b", message["body"])
                    if found and ("登录验证码" in message["title"] or "sign-in code" in message["title"]):
                        code = found.group(1)
                        break
                else:
                    time.sleep(0.3)
        self.console.print(
            f"\n[bold]The staff console[/bold]: {url}\n"
            f"  sign in as {staff['name']} (staff, Wholesale City): mobile {staff['mobile']}, "
            + (f"one-time code [bold]{code}[/bold] (valid 5 minutes)" if code else "the code is in their inbox")
        )

    def _cast(self, alliance):
        def first(method, **query):
            items = method(limit=1, **query)["items"]
            if not items:
                raise SystemExit(f"the demo register has no {query}: run `make run` (it loads the demo data) first")
            return items[0]

        shop = first(alliance.registry.search_merchants, district_id="wholesale_city", status="active")
        owner = alliance.registry.get_person(person_id=shop["owner_id"]) if shop.get("owner_id") else None
        return {
            "staff": first(alliance.registry.search_people, role="staff", district_id="wholesale_city"),
            "liaison": first(alliance.registry.search_people, role="department_liaison"),
            "shop": shop,
            "owner": owner,
        }

    def floating_member_finds_a_home(self):
        self.act(
            "1. A floating Party member finds a home (党员联管)",
            "A hardware trader from Zhejiang has sold in the Wholesale City for years; his Party membership "
            "is still at home. Today the staff register him as a floating member of the district's branch "
            "and pair him with a merchant he can help.",
        )
        staff = self.cast["staff"]
        with self.client(staff["person_id"], "staff", ["staff"], ["wholesale_city"]) as alliance:
            name = self.fake.name()
            person = alliance.registry.register_person(
                name=name,
                mobile=f"13{self.rng.randint(100000000, 999999999)}",
                district_id="wholesale_city",
                skills=["五金"],
            )
            self.step(staff["name"], f"registers {name}", "registry", f"person {person['person_id'][:8]}… registered")
            arrived = date.today() - timedelta(days=20)
            member = alliance.registry.register_party_member(
                person_id=person["person_id"],
                branch_id="branch_wholesale_city",
                joined_on="2008-07-01",
                floating={
                    "home_organisation": "温州市某村党支部",
                    "home_province": "浙江",
                    "arrived_on": arrived.isoformat(),
                },
            )
            self.step(
                staff["name"],
                "records him as a floating Party member of the Wholesale City branch",
                "registry",
                f"transfer due on {member['transfer_due_on']} — six months after arrival; then the branch secretary"
                " is reminded (floating_member_transfer_due)",
            )
            pairing = alliance.registry.start_pairing(
                person_id=person["person_id"], merchant_id=self.cast["shop"]["merchant_id"]
            )
            self.step(
                staff["name"],
                f"pairs him with {self.cast['shop']['shop_name']} (结对)",
                "registry",
                f"pairing {pairing['pairing_id'][:8]}… started; the tickets service learns of it by event",
            )
        self._points(person, name)
        self._transfer()

    def _transfer(self):
        """The transfer as a workflow (组织关系转接): a floating member seven months here, his
        activity card run out; the branch secretary starts the transfer with the introduction
        letter and completes it, the member and the receiving branch told at each step."""
        with self.operator() as alliance:
            found = alliance.registry.search_people(role="branch_secretary", district_id="wholesale_city", limit=1)
            if not found["items"]:
                return  # the register was not loaded with the demo data: nothing to show here
            secretary = found["items"][0]
            name = self.fake.name()
            person = alliance.registry.register_person(
                name=name, mobile=f"13{self.rng.randint(100000000, 999999999)}", district_id="wholesale_city"
            )
            arrived = date.today() - timedelta(days=210)
            alliance.registry.register_party_member(
                person_id=person["person_id"],
                branch_id="branch_wholesale_city",
                joined_on="2015-07-01",
                floating={
                    "home_organisation": "义乌市稠城街道党工委",
                    "home_province": "浙江",
                    "activity_card_no": f"浙流{arrived.year}-{self.rng.randint(1000, 9999)}",
                    "activity_card_issued_on": arrived.isoformat(),
                    "arrived_on": arrived.isoformat(),
                },
            )
        who = f"secretary {secretary['name']}"
        with self.client(secretary["person_id"], "staff", ["branch_secretary"], ["wholesale_city"]) as desk:
            card = desk.registry.get_person(person_id=person["person_id"])["party_member"]
            period = card["activity_card"]
            self.step(
                who,
                f"looks up {name}, seven months here",
                "registry",
                f"transfer {card['transfer_state']}; activity card (流动党员活动证) issued {period['issued_on']},"
                f" valid until {period['valid_until']}{' — expired' if period['expired'] else ''}",
            )
            started = desk.registry.start_transfer(person_id=person["person_id"], letter_no="义稠党介〔2026〕017号")
            self.step(
                who,
                "starts the transfer of his membership to the Wholesale City branch (介绍信 义稠党介〔2026〕017号)",
                "registry",
                f"transfer {started['status']}; he and the receiving branch's secretary are told"
                " (floating_member_transfer_started)",
            )
            done = desk.registry.complete_transfer(transfer_id=started["transfer_id"])
            self.step(
                who,
                "receives the letter and completes the transfer",
                "registry",
                f"transfer {done['status']} on {done['completed_on']}: the membership is now the branch's"
                " (floating_member_transferred_in)",
            )

    def _points(self, person, name):
        """His first points (党员积分): an administrator's entry with its reason, his balance and
        his branch's ranking — entries are never edited; activities, demands and pairings add more."""
        with self.operator() as admin:
            admin.registry.record_points(
                person_id=person["person_id"], points=3, reason="主动帮扶结对商户，协助办理证照"
            )
            ledger = admin.registry.member_points(person_id=person["person_id"])
            ranking = admin.registry.rank_points(branch_id="branch_wholesale_city")
        place = next((r["rank"] for r in ranking["items"] if r["person_id"] == person["person_id"]), None)
        self.step(
            "the administrator",
            f"records 3 points for {name}: helping the shop he is paired with",
            "registry",
            f"points ledger balance {ledger['balance']} ({ledger['entries']} entry); "
            f"rank {place} in the Wholesale City branch (points_recorded)",
        )

    def financing_demand(self):
        self.act(
            "2. A financing demand handled jointly (实事联办)",
            "The merchant needs a loan to stock up for the season. The demand is routed to the bank "
            "liaisons; whoever accepts it owns it; it goes to the bank and back, and the merchant rates it.",
        )
        shop, owner, liaison = self.cast["shop"], self.cast["owner"], self.cast["liaison"]
        owner_id = owner["person_id"] if owner else f"owner-{shop['merchant_id'][:8]}"
        merchant = self.client(
            owner_id, "merchant", ["merchant"], [shop["district_id"]], merchant_id=shop["merchant_id"]
        )
        handler = self.client(liaison["person_id"], "staff", ["department_liaison"], ["*"])
        with merchant as shop_app, handler as desk:
            ticket = shop_app.tickets.submit_ticket(
                merchant_id=shop["merchant_id"],
                category="bank_financing",
                title="申请季节备货流动资金贷款",
                description="需要约30万元周转资金，希望尽快对接银行。",
                handling_mode="assisted",
            )
            view = shop_app.tickets.get_ticket(ticket_id=ticket["ticket_id"])
            self.step(
                shop["shop_name"],
                "submits a bank–enterprise financing demand from the mini-program",
                "tickets",
                f"reference {ticket['reference']}, promised by {view['promised_by'][:16]} (working time)",
            )
            reference, ticket_id = ticket["reference"], ticket["ticket_id"]
            desk.tickets.accept_ticket(ticket_id=ticket_id)
            self.step(liaison["name"], f"accepts {reference}", "tickets", "now its owner (首接负责制)")
            desk.tickets.start_ticket(ticket_id=ticket_id)
            desk.tickets.refer_ticket(ticket_id=ticket_id, partner_id=PARTNER_BANK, note="小微企业经营贷")
            bank = desk.tickets.get_ticket(ticket_id=ticket_id)["partner"]
            self.step(
                liaison["name"],
                f"refers it to the partner bank {bank}",
                "tickets",
                "status referred; the bank's liaisons are told; the clock keeps running",
            )
            desk.tickets.record_partner_reply(ticket_id=ticket_id, text="授信30万元已审批")
            desk.tickets.resolve_ticket(ticket_id=ticket_id, resolution="银行已审批30万元授信")
            self.step(liaison["name"], "records the bank's answer and resolves it", "tickets", "resolved on time")
            closed = shop_app.tickets.close_ticket(ticket_id=ticket_id, rating=5, comment="办事快，服务好")
            self.step(shop["shop_name"], "confirms and rates it 5 of 5", "tickets", f"{closed['reference']} closed")
            timeline = shop_app.tickets.timeline(ticket_id=ticket_id)
            self.step(
                shop["shop_name"],
                "looks at the timeline",
                "tickets",
                f"{len(timeline)} steps it may see, no internal notes",
            )
            self._follow_up_call(shop_app, desk, shop, liaison)

    def _follow_up_call(self, shop_app, desk, shop, liaison):
        """A second demand closed with a poor rating is called back (回访): closed is not solved."""
        ticket = shop_app.tickets.submit_ticket(
            merchant_id=shop["merchant_id"],
            category="online_shop",
            title="网店商品上架审核慢",
            description="新品在线上店铺上架审核已等三天。",
            handling_mode="on_the_spot",
        )
        ticket_id = ticket["ticket_id"]
        desk.tickets.accept_ticket(ticket_id=ticket_id)
        desk.tickets.start_ticket(ticket_id=ticket_id)
        desk.tickets.resolve_ticket(ticket_id=ticket_id, resolution="已联系平台加急审核")
        shop_app.tickets.close_ticket(ticket_id=ticket_id, rating=2, comment="还是没上架")
        [call] = [f for f in desk.tickets.get_ticket(ticket_id=ticket_id)["follow_ups"] if f["outcome"] is None]
        self.step(
            shop["shop_name"],
            f"closes {ticket['reference']} but rates it 2 of 5",
            "tickets",
            f"a follow-up call (回访) owed by {call['call_by_id'] or 'the desk'}, due {call['due_at'][:16]}",
        )
        done = desk.tickets.record_follow_up(
            ticket_id=ticket_id, outcome="not_solved", note="商户称仍未上架，已再次催办"
        )
        self.step(
            liaison["name"],
            "calls the merchant back",
            "tickets",
            f"follow-up recorded: {done['outcome']} — counted as closed, not solved, in the unit figures",
        )

    def joint_promotion(self):
        self.act(
            "3. A joint themed promotion (活动联抓)",
            "The three districts host one Dragon Boat promotion together. A district planning a clashing "
            "promotion on the same theme is stopped by the calendar; merchants register for the seats.",
        )
        staff = self.cast["staff"]
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=14)
        fields = {
            "type": "themed_promotion",
            "description": "三大商圈错位经营、联合促销",
            "venue": "德百奥莱广场中庭",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(days=2)).isoformat(),
            "registration_opens_at": datetime.now(UTC).isoformat(),
            "registration_closes_at": (starts - timedelta(days=1)).isoformat(),
            "audience": {"kinds": ["merchants"], "districts": []},
        }
        with self.client(staff["person_id"], "staff", ["staff"], ["*"]) as alliance:
            tag = f"端午-{self.rng.randint(1000, 9999)}"
            joint = alliance.events.create_activity(
                title="端午亲子露营节",
                organisers=["wholesale_city", "aodele", "outlets"],
                capacity=2,
                theme_tags=[tag],
                **fields,
            )
            alliance.events.publish_activity(activity_id=joint["activity_id"])
            self.step(
                staff["name"], "publishes the joint promotion for all three districts", "events", "published; 2 seats"
            )
            rival = alliance.events.create_activity(
                title="批发城露营装备节", organisers=["wholesale_city"], capacity=50, theme_tags=[tag], **fields
            )
        with self.client(staff["person_id"], "staff", ["staff"], ["wholesale_city"]) as alliance:
            try:
                alliance.events.publish_activity(activity_id=rival["activity_id"])
            except Conflict as refusal:
                self.step(
                    staff["name"],
                    "tries to publish a rival camping promotion for the Wholesale City",
                    "events",
                    f"refused — {refusal}",
                )
        with self.operator() as alliance:
            shops = alliance.registry.search_merchants(status="active", limit=3)["items"]
        outcomes = []
        for shop in shops:
            with self.client(
                f"rep-{shop['merchant_id'][:8]}", "merchant", ["merchant"], [shop["district_id"]], shop["merchant_id"]
            ) as app:
                outcomes.append(app.events.register(activity_id=joint["activity_id"]))
            self.step(
                shop["shop_name"],
                "registers",
                "events",
                outcomes[-1]["status"] + (f", place {outcomes[-1]['place']}" if outcomes[-1]["place"] else ""),
            )
        first = shops[0]
        with self.client(
            f"rep-{first['merchant_id'][:8]}", "merchant", ["merchant"], [first["district_id"]], first["merchant_id"]
        ) as app:
            moved = app.events.cancel_registration(registration_id=outcomes[0]["registration_id"])
        offered = moved["offered"]
        self.step(
            first["shop_name"],
            "cancels",
            "events",
            f"the seat is offered to the first waiting: {offered['person_id'] if offered else 'nobody'}",
        )
        if offered is not None:
            waiter = next(shop for shop in shops if shop["merchant_id"] == str(offered["merchant_id"]))
            with self.client(
                offered["person_id"], "merchant", ["merchant"], [waiter["district_id"]], waiter["merchant_id"]
            ) as app:
                taken = app.events.accept_offer(registration_id=offered["registration_id"])
            self.step(waiter["shop_name"], "accepts the seat offered", "events", taken["status"])

    def evaluation(self):
        self.act(
            "4. An evaluation becomes an honour (评选)",
            "Party members vote for this year's star Party-member merchants. When voting closes, the "
            "events service names the winners and the registry honours them — one service changing "
            "another's data only through an event.",
        )
        staff = self.cast["staff"]
        now = datetime.now(UTC).replace(microsecond=0)
        with self.operator() as alliance:
            # Shops with the member-business plaque are owned by Party members: they can be honoured.
            candidates = alliance.registry.search_merchants(honour="party_member_business_plaque", limit=2)["items"]
            with self.client(staff["person_id"], "staff", ["staff"], ["*"]) as organiser:
                evaluation = organiser.events.create_activity(
                    title=f"{now.year}年度星级党员商户评选（演示 {now:%H:%M:%S}）",
                    type="evaluation",
                    description="由党员投票评选",
                    organisers=["wholesale_city", "aodele", "outlets"],
                    venue="服务中心",
                    starts_at=(now + timedelta(minutes=1)).isoformat(),
                    ends_at=(now + timedelta(days=1)).isoformat(),
                    registration_opens_at=now.isoformat(),
                    registration_closes_at=(now + timedelta(seconds=30)).isoformat(),
                    capacity=0,
                    audience={"kinds": ["party_members"], "districts": []},
                    evaluation={
                        "kind": "star_party_member_merchant",
                        "year": now.year,
                        "winners": 1,
                        "stars": 5,
                        "voter_roles": ["party_member"],
                        "voting_opens_at": now.isoformat(),
                        "voting_closes_at": (now + timedelta(seconds=6)).isoformat(),
                    },
                )
                organiser.events.publish_activity(activity_id=evaluation["activity_id"])
                for shop in candidates:
                    organiser.events.nominate(
                        activity_id=evaluation["activity_id"],
                        merchant_id=shop["merchant_id"],
                        reason="诚信经营、服务群众",
                    )
                self.step(
                    staff["name"],
                    f"opens the evaluation and nominates {len(candidates)} merchants",
                    "events",
                    "voting open for 6 seconds",
                )
                for n in range(5):
                    choice = candidates[0] if n < 3 else candidates[-1]
                    with self.client(f"member-{n}", "staff", ["party_member"], ["*"]) as voter:
                        voter.events.vote(activity_id=evaluation["activity_id"], merchant_id=choice["merchant_id"])
                self.step("Five Party members", "vote", "events", "one vote per voter per nominee")
                time.sleep(max(0.0, (now + timedelta(seconds=7) - datetime.now(UTC)).total_seconds()))
                result = organiser.events.close_evaluation(activity_id=evaluation["activity_id"])
            winner = result["winners"][0] if result["winners"] else None
            if winner is None:
                self.step(staff["name"], "closes the evaluation", "events", "no winner")
                return
            self.step(
                staff["name"],
                "closes the evaluation",
                "events",
                f"winner {winner['merchant_id'][:8]}… with {winner['votes']} votes → event evaluation_closed",
            )
            deadline = time.monotonic() + 15
            honours = []
            while time.monotonic() < deadline and not honours:
                honours = [
                    h
                    for h in alliance.registry.list_honours(merchant_id=winner["merchant_id"], year=now.year)["items"]
                    if h["kind"] == "star_party_member_merchant"
                ]
                time.sleep(0.5)
            if honours:
                self.step(
                    "the registry",
                    "hears of it",
                    "registry",
                    f"honour awarded: {honours[0]['stars']} stars, '{honours[0]['reason']}'",
                )
            else:
                self.step(
                    "the registry",
                    "hears of it",
                    "registry",
                    "no honour: the winner's owner is not a Party member, or already honoured this year",
                )

    def branch_meeting(self):
        self.act(
            "5. Branch life (三会一课)",
            "The Wholesale City branch secretary holds this month's branch committee: planned with its agenda, "
            "members invited (each with a check-in code), attendance taken at the door, minutes recorded — "
            "and the alliance sees every branch against the rhythm (committee monthly, general meeting and "
            "Party lecture quarterly), overdue branches flagged and their secretaries told.",
        )
        with self.operator() as alliance:
            found = alliance.registry.search_people(role="branch_secretary", district_id="wholesale_city", limit=1)
            if not found["items"]:
                raise SystemExit("the demo register has no branch secretary: run `make run` (it loads the demo data)")
            secretary = found["items"][0]
            members = alliance.registry.resolve_audience(branch_id="branch_wholesale_city", limit=6)["contacts"]
        invitees = sorted({secretary["person_id"], *(c["id"] for c in members)})[:5]
        local = ZoneInfo(load_config("events")["TIMEZONE"])
        starts = datetime.now(local).replace(second=0, microsecond=0) + timedelta(minutes=30)
        who = f"secretary {secretary['name']}"
        roles = ["branch_secretary"]
        with self.client(secretary["person_id"], "staff", roles, ["wholesale_city"]) as desk:
            planned = desk.events.plan_meeting(
                branch_id="branch_wholesale_city",
                kind="branch_committee",
                title=f"{starts:%Y年%m月}支部委员会（演示 {starts:%H:%M}）",
                place="红星德百商圈党群服务中心二楼会议室",
                starts_at=starts.isoformat(),
                ends_at=(starts + timedelta(minutes=90)).isoformat(),
                agenda=["传达学习上级会议精神", "研究流动党员组织关系接转", "商户需求办理情况通报"],
                invitees=invitees,
            )
            meeting_id = planned["meeting_id"]
            self.step(
                who,
                f"plans the branch committee for {starts:%Y-%m-%d %H:%M} (local time) with a 3-item agenda",
                "events",
                f"branch meeting planned; {planned['attendance']['invited']} members invited and told"
                " (meeting_planned)",
            )
            codes = {}
            for person_id in invitees:
                with self.client(person_id, "staff", ["party_member"], ["wholesale_city"]) as member:
                    mine = member.events.get_meeting(meeting_id=meeting_id)["my_attendance"]
                    codes[person_id] = mine["check_in_code"]
            *present, away = invitees
            with self.client(away, "staff", ["party_member"], ["wholesale_city"]) as member:
                member.events.excuse_absence(meeting_id=meeting_id, reason="外出进货，提前请假")
            for person_id in present:
                desk.events.check_in_to_meeting(meeting_id=meeting_id, code=codes[person_id])
            held = desk.events.hold_meeting(meeting_id=meeting_id)
            counted = held["attendance"]
            self.step(
                who,
                "takes attendance at the door by each member's code, then opens the meeting",
                "events",
                f"{counted['attended']} checked in, {counted['excused']} excused, {counted['absent']} absent "
                f"(attendance {counted['attendance_rate']:.0%}; meeting_held)",
            )
            done = desk.events.record_minutes(
                meeting_id=meeting_id,
                minutes="会议传达学习了上级会议精神，研究了流动党员组织关系接转，通报了本月商户需求办理情况。",
                decisions=["本月完成流动党员组织关系转入", "对逾期未办结需求开展回访"],
            )
            self.step(
                who,
                "records the minutes",
                "events",
                f"minutes recorded with {len(done['decisions'])} decisions (minutes_recorded)",
            )
        with self.operator() as alliance:
            view = alliance.events.branch_compliance()
        for branch in view["branches"]:
            late = [k["kind"] for k in branch["kinds"] if k["overdue"]]
            committee = next(k for k in branch["kinds"] if k["kind"] == "branch_committee")
            self.step(
                "the alliance",
                f"looks at {branch['branch_name']}",
                "events",
                f"branch compliance: committee last held {committee['last_held_on'] or 'never'}, next due "
                f"{committee['next_due_on']}; " + (f"overdue: {', '.join(late)}" if late else "nothing overdue"),
            )
        self.step(
            "the rhythm timer",
            "looks at every branch each hour",
            "events",
            f"{len(view['overdue_branches'])} branch(es) flagged overdue; each secretary told once per period "
            "missed (branch_meeting_overdue)",
        )


def main():
    try:
        Day().play()
    except AllianceError as exc:
        raise SystemExit(f"the demo stopped: {type(exc).__name__}: {exc}") from exc
