"""Demo data for ``make run``: generated merchants for the three districts, loaded through the
registry's RPC like any other caller would. Faker (zh_CN) with a fixed seed makes the same
merchants every time, so a second run finds them all registered and adds nothing."""

import random

from faker import Faker

from .identifiers import CREDIT_CODE_CHARSET, make_credit_code

# Share of the alliance's 2,200 merchants per district, and the trades typical of each.
DISTRICTS = {
    "wholesale_city": (1200, ["五金建材", "日用百货", "服装鞋帽", "食品批发", "家具家居", "户外用品"]),
    "aodele": (500, ["运动服饰", "餐饮", "数码电器", "美妆个护", "儿童教育"]),
    "outlets": (500, ["品牌服饰", "餐饮", "鲜花绿植", "箱包皮具", "亲子娱乐"]),
}
SHOP_SUFFIXES = ["商行", "批发部", "专营店", "旗舰店", "经营部", "小馆"]
IN_FLIGHT = 20


def _credit_code(rng):
    # 91 (enterprise) + 371400 (Dezhou) + a random organisation code, then the check character.
    return make_credit_code("91371400" + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(9)))


def merchants(seed=2026, per_district=None):
    """The demo merchants; ``per_district`` caps each district's count (tests use a few)."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    for district, (count, categories) in DISTRICTS.items():
        for n in range(count if per_district is None else min(count, per_district)):
            category = categories[n % len(categories)]
            yield {
                "shop_name": f"{fake.company_prefix()}{category}{rng.choice(SHOP_SUFFIXES)}",
                "district_id": district,
                "unit_no": f"{rng.choice('ABCDEF')}{rng.randint(1, 4)}-{rng.randint(1, 320):03d}",
                "category": category,
                "credit_code": _credit_code(rng),
                "contact_phone": fake.phone_number(),
                "online_shop_url": fake.url() if rng.random() < 0.3 else None,
            }


def load(alliance, progress=None, per_district=None):
    """Register the demo merchants through ``alliance`` (an AllianceClient); returns counts."""
    from .errors import Conflict

    counts = {"registered": 0, "already present": 0}
    batch = []

    def settle():
        for reply in batch:
            try:
                reply.result()
                counts["registered"] += 1
            except Conflict:
                counts["already present"] += 1
            if progress:
                progress()
        batch.clear()

    for merchant in merchants(per_district=per_district):
        batch.append(alliance.registry.register_merchant.call_async(**merchant))
        if len(batch) >= IN_FLIGHT:
            settle()
    settle()
    return counts
