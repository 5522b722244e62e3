"""Demo data for ``make run``: the three districts' merchants and their owners, staff and branch
secretaries, Party members (a few of them floating), honours and pairings — all loaded through the
registry's RPC like any other caller would. Faker (zh_CN) with a fixed seed makes the same data
every time, and every step is idempotent, so a second run finds everything present and adds nothing.

The merchants arrive as one roster through ``import_merchants`` (registered in one transaction,
keyed on credit code); the rest through the registry's other methods.
"""

import base64
import csv
import io
import random
from datetime import date, timedelta

from faker import Faker

from alliance_registry.domain.identifiers import CREDIT_CODE_CHARSET, make_credit_code, make_id_card

# Share of the alliance's 2,200 merchants per district, and the trades typical of each.
DISTRICTS = {
    "wholesale_city": (1200, ["五金建材", "日用百货", "服装鞋帽", "食品批发", "家具家居", "户外用品"]),
    "aodele": (500, ["运动服饰", "餐饮", "数码电器", "美妆个护", "儿童教育"]),
    "outlets": (500, ["品牌服饰", "餐饮", "鲜花绿植", "箱包皮具", "亲子娱乐"]),
}
BRANCHES = {"wholesale_city": "branch_wholesale_city", "aodele": "branch_aodele", "outlets": "branch_outlets"}
SHOP_SUFFIXES = ["商行", "批发部", "专营店", "旗舰店", "经营部", "小馆"]
SKILLS = ["电商运营", "财务记账", "法律咨询", "直播带货", "平面设计", "劳动保障政策", "外语翻译"]
# Floating members' home organisations (generic, not real bodies) and provinces.
HOMES = [("浙江省", "浙江省某县市场党支部"), ("江苏省", "江苏省某镇商会党支部"), ("河北省", "河北省某村党支部")]
MEMBER_EVERY = 12  # one owner in twelve is a Party member
FLOATING_EVERY = 10  # of those, one in ten is a floating member
HONOUR_YEAR = 2025  # the alliance's first evaluation year
STEPS = ("merchants", "staff", "partners", "party members", "honours", "pairings")
# The partner organisations (组织联建), added through add_organisation with the liaison of the team
# named beside each as their contact: the bank referred financing demands go to, the regulator.
PARTNERS = (
    (
        {
            "organisation_id": "dezhou_bank_tianqu",
            "type": "bank",
            "name": "德州银行天衢新区支行",
            "short_name": "德州银行",
            "name_en": "Bank of Dezhou, Tianqu New District Sub-branch",
        },
        "bank-liaisons",
    ),
    (
        {
            "organisation_id": "tianqu_market_regulation",
            "type": "government_department",
            "name": "天衢新区市场监督管理局",
            "short_name": "市场监管局",
            "name_en": "Tianqu New District Market Regulation Bureau",
        },
        "government-liaisons",
    ),
)


def _credit_code(rng):
    # 91 (enterprise) + 371400 (Dezhou) + a random organisation code, then the check character.
    return make_credit_code("91371400" + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(9)))


class _Mobiles:
    """Faker's mobile numbers, never the same one twice (a person's mobile is unique)."""

    def __init__(self, fake):
        self.fake, self.seen = fake, set()

    def __call__(self):
        while True:
            number = self.fake.phone_number()
            if number not in self.seen:
                self.seen.add(number)
                return number


def generate(seed=2026, per_district=None):
    """The demo world: roster rows (merchant and owner), staff and secretaries, as plain data."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    mobile = _Mobiles(fake)
    roster, staff = [], []
    for district, (count, categories) in DISTRICTS.items():
        for n in range(count if per_district is None else min(count, per_district)):
            category = categories[n % len(categories)]
            roster.append(
                {
                    "shop_name": f"{fake.company_prefix()}{category}{rng.choice(SHOP_SUFFIXES)}",
                    "district": district,
                    "unit_no": f"{rng.choice('ABCDEF')}{rng.randint(1, 4)}-{rng.randint(1, 320):03d}",
                    "category": category,
                    "credit_code": _credit_code(rng),
                    "contact_phone": mobile(),
                    "online_shop_url": fake.url() if rng.random() < 0.3 else "",
                    "owner_name": fake.name(),
                    "owner_mobile": mobile(),
                }
            )
        # The secretaries are the party-branches team, the staff the service centre's: the teams
        # the tickets service routes demands to when no single person is proposed.
        for roles, team in (
            (["branch_secretary"], "party-branches"),
            (["staff"], "service-centre"),
            (["staff", "volunteer"], "service-centre"),
        ):
            born = fake.date_of_birth(minimum_age=25, maximum_age=60).strftime("%Y%m%d")
            staff.append(
                {
                    "name": fake.name(),
                    "mobile": mobile(),
                    "id_card_no": make_id_card(f"371402{born}{rng.randint(0, 999):03d}"),
                    "roles": roles,
                    "skills": rng.sample(SKILLS, 2),
                    "teams": [team],
                    "district_id": district,
                }
            )
    # Partners' liaisons (a bank's, the market regulator's): demands of their kind are routed to them.
    for skills, team in ((["金融", "银企对接"], "bank-liaisons"), (["法律", "市场监管"], "government-liaisons")):
        born = fake.date_of_birth(minimum_age=25, maximum_age=60).strftime("%Y%m%d")
        staff.append(
            {
                "name": fake.name(),
                "mobile": mobile(),
                "id_card_no": make_id_card(f"371402{born}{rng.randint(0, 999):03d}"),
                "roles": ["department_liaison"],
                "skills": skills,
                "teams": [team],
                "district_id": "wholesale_city",
            }
        )
    return roster, staff


def roster_csv(rows):
    """The roster as a CSV file (UTF-8), as a spreadsheet would export it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _counted(counts, key, call):
    """Run ``call``; count it as registered, or as already present when it conflicts."""
    from alliance_platform.errors import Conflict

    entry = counts.setdefault(key, {"registered": 0, "already present": 0})
    try:
        result = call()
    except Conflict:
        entry["already present"] += 1
        return None
    entry["registered"] += 1
    return result


def _all(method, key, limit, **query):
    """Every item of a paged registry method."""
    items, cursor = [], None
    while True:
        result = method(**query, limit=limit, cursor=cursor)
        items += result[key]
        cursor = result["next_cursor"]
        if cursor is None:
            return items


def load(alliance, progress=None, per_district=None):
    """Load the demo world through ``alliance`` (an AllianceClient acting as an administrator).

    Returns counts per kind of record: {"merchants": {"registered": n, "already present": m}, ...}.
    ``progress(step)`` is called after each of ``STEPS``.
    """
    today = date.today()
    registry = alliance.registry
    roster, staff = generate(per_district=per_district)
    step = progress or (lambda name: None)

    report = registry.import_merchants(content=base64.b64encode(roster_csv(roster)).decode(), format="csv")
    counts = {
        "merchants": {"registered": report["created"], "already present": report["unchanged"] + report["updated"]},
    }
    step("merchants")

    people = {}
    for person in staff:
        made = _counted(counts, "staff", lambda person=person: registry.register_person(**person))
        people[person["mobile"]] = made["person_id"] if made else None
    for person in staff:
        if people[person["mobile"]] is None:
            people[person["mobile"]] = registry.search_people(mobile=person["mobile"])["items"][0]["person_id"]
            # Registered by an earlier load, perhaps before people carried teams: unchanged teams change nothing.
            registry.update_person(person_id=people[person["mobile"]], teams=person["teams"])
    step("staff")

    for organisation, team in PARTNERS:
        liaisons = [people[p["mobile"]] for p in staff if team in p["teams"] and "department_liaison" in p["roles"]]
        _counted(
            counts,
            "partners",
            lambda organisation=organisation, liaisons=liaisons: registry.add_organisation(
                **organisation, liaison_ids=liaisons
            ),
        )
    step("partners")

    owners = {c["mobile"]: c["id"] for c in _all(registry.resolve_audience, "contacts", 1000, role="merchant_owner")}
    merchants = {m["credit_code"]: m["merchant_id"] for m in _all(registry.search_merchants, "items", 100)}
    # (person id, district, roster row or None, floating details or None)
    members = [
        (people[p["mobile"]], p["district_id"], None, None) for p in staff if "department_liaison" not in p["roles"]
    ]
    for n, row in enumerate(roster[::MEMBER_EVERY]):
        floating = None
        if n % FLOATING_EVERY == 1:
            province, home = HOMES[n % len(HOMES)]
            arrived = today - timedelta(days=30 * (1 + n % 9))  # some are past six months: due for transfer
            floating = {
                "home_organisation": home,
                "home_province": province,
                "activity_card_no": f"LD{n:06d}",
                "activity_card_issued_on": arrived.isoformat(),
                "arrived_on": arrived.isoformat(),
            }
        members.append((owners[row["owner_mobile"]], row["district"], row, floating))
    for n, (person_id, district, _, floating) in enumerate(members):
        _counted(
            counts,
            "party members",
            lambda person_id=person_id, district=district, floating=floating, n=n: registry.register_party_member(
                person_id=person_id,
                branch_id=BRANCHES[district],
                joined_on=date(1985 + n % 35, 7, 1).isoformat(),
                floating=floating,
            ),
        )
    step("party members")

    owned = [row for _, _, row, _ in members if row is not None]
    for n, row in enumerate(owned):
        if n % 3 == 0:
            award = {"kind": "star_party_member_merchant", "year": HONOUR_YEAR, "stars": 1 + n % 5}
        else:
            award = {"kind": "party_member_business_plaque"}
        _counted(
            counts,
            "honours",
            lambda row=row, award=award: registry.award_honour(
                merchant_id=merchants[row["credit_code"]], reason="诚信经营、亮身份树形象", **award
            ),
        )
    step("honours")

    # One-to-one pairings: a Party member with a merchant whose owner is not a member.
    for n, row in enumerate(roster[MEMBER_EVERY // 2 :: MEMBER_EVERY]):
        person_id = members[n % len(members)][0]
        _counted(
            counts,
            "pairings",
            lambda person_id=person_id, row=row: registry.start_pairing(
                person_id=person_id, merchant_id=merchants[row["credit_code"]], note="一对一结对帮扶"
            ),
        )
    step("pairings")
    return counts


def summary(counts):
    return ", ".join(
        f"{kind}: {entry['registered']} registered, {entry['already present']} already present"
        for kind, entry in counts.items()
    )
