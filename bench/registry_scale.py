"""Scenario ``registry``: the register at city scale — 1,000,000 people and 100,000 merchants.

The data is loaded with COPY straight into a database of its own (``alliance_bench_registry_city``),
not through RPC, and kept between runs: a run loads it only when the database is missing or was
loaded by another version of this module. 2,200 of the merchants sit in the alliance's three
districts, the rest in 40 other districts of the city.

- Name search: ``search_people`` / ``search_merchants`` by a name fragment of one, two and three
  characters, one page of 20, p95 over the calls, beside the same SQL statement run directly on the
  database in the same run (the RPC's own cost is the difference). Goal: p95 < 20 ms.
- Audience: ``resolve_audience`` for every merchant of the three districts, all pages (1,000 a
  page), beside the same pages read with raw SQL. Goal: < 100 ms for all pages.
"""

import random
import time
from datetime import UTC, datetime
from statistics import median, quantiles

import psycopg
from faker.providers.person.zh_CN import Provider as ZhNames
from psycopg import sql
from psycopg.rows import dict_row

from alliance_platform.config import load_config, service_package
from alliance_platform.identity import TokenService
from alliance_platform.migrate import apply
from alliance_platform.rpc import AllianceClient
from alliance_registry.domain.identifiers import make_credit_code

from .environment import BenchError, _with_path
from .report import Result, progress

DATABASE = "alliance_bench_registry_city"
DATASET = "city-v1"  # change when the generated data changes: the next run reloads
PEOPLE, MERCHANTS = 1_000_000, 100_000
ALLIANCE_DISTRICTS = {"wholesale_city": 1200, "aodele": 500, "outlets": 500}
OTHER_DISTRICTS = [f"city_{n:02d}" for n in range(1, 41)]
# Characters of given names (common ones, so fragments hit many names, as they would in a city).
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文红玉辉鹏飞鑫波宇浩凯健俊帆帅旭宁龙林欣婷雪琳晨阳"
    "佳琪思梦雨馨怡悦子涵轩博宏志海峰春梅秋云玲燕萍凤洁丹慧颖倩晶诗雅欢蕾莉璐瑶嘉晓梓睿泽昊然天翔瑞泓楠哲"
    "诚亮坤斌彬振兵学德胜永庆金荣昌成松柏青山水清源远航新民利生福贵安乐康寿立鸿运家豪世一鸣若曦语桐紫萱可"
)
SHOP_WORDS = "鑫盛华联德百汇源兴隆福泰金顺达永昌恒通宏发嘉和瑞祥万家乐美佳天成众诚信"
TRADES = ["五金建材", "日用百货", "服装鞋帽", "食品批发", "餐饮", "数码电器", "鲜花绿植", "运动服饰"]
SUFFIXES = ["商行", "批发部", "专营店", "旗舰店", "经营部", "小馆"]
# (method, fragment): one common and one rarer character, two- and three-character fragments.
SEARCHES = [
    ("people", "王"),
    ("people", "鸿"),
    ("people", "建国"),
    ("people", "李思"),
    ("people", "张晓明"),
    ("merchants", "鑫"),
    ("merchants", "五金"),
    ("merchants", "华联超"),
]
GOAL_SEARCH_MS, GOAL_AUDIENCE_MS = 20, 100
WARMUP = 5  # calls before timing: the first ones read pages from disk and plan statements


def _people_rows(rng, now, count=PEOPLE):
    surnames, weights = list(ZhNames.last_names), list(ZhNames.last_names.values())
    districts = list(ALLIANCE_DISTRICTS) + OTHER_DISTRICTS
    for n in range(count):
        given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
        roles = "{merchant_owner}" if n % 10 == 0 else ("{volunteer}" if n % 17 == 0 else "{}")
        yield (rng.choices(surnames, weights)[0] + given, f"13{n:09d}", roles, rng.choice(districts), now, now)


def _merchant_rows(rng, now, count=MERCHANTS, alliance=None):
    alliance = ALLIANCE_DISTRICTS if alliance is None else alliance
    districts = [d for d, count in alliance.items() for _ in range(count)]
    others = count - len(districts)
    districts += [OTHER_DISTRICTS[n % len(OTHER_DISTRICTS)] for n in range(others)]
    for n, district in enumerate(districts):
        trade = TRADES[n % len(TRADES)]
        name = "".join(rng.choice(SHOP_WORDS) for _ in range(2)) + trade + rng.choice(SUFFIXES)
        yield (name, district, trade, make_credit_code(f"91371400{n:09d}"), f"15{n:09d}", now, now)


def ensure_city(admin_db, people=PEOPLE, merchants=MERCHANTS, alliance=None):
    """The city database, loaded (once) with COPY; returns its URL. Other sizes (``people``,
    ``merchants``, the merchants of the alliance's districts ``alliance``) load a database of
    their own, for the cost curves."""
    alliance = ALLIANCE_DISTRICTS if alliance is None else alliance
    city = (people, merchants, alliance) == (PEOPLE, MERCHANTS, ALLIANCE_DISTRICTS)
    database = DATABASE if city else f"{DATABASE}_{people}_{merchants}"
    dataset = DATASET if city else f"{DATASET}-{people}-{merchants}-{sum(alliance.values())}"
    url = _with_path(admin_db, f"/{database}")
    with psycopg.connect(admin_db, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if exists:
        with psycopg.connect(url) as conn:
            loaded = conn.execute(
                "SELECT to_regclass('bench_dataset') IS NOT NULL AND EXISTS"
                " (SELECT 1 FROM bench_dataset WHERE version = %s)",
                (dataset,),
            ).fetchone()[0]
        if loaded:
            apply(url, ["alliance_platform", service_package("registry")])
            progress(f"registry  city data already loaded in {database}")
            return url
        with psycopg.connect(admin_db, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
    apply(url, ["alliance_platform", service_package("registry")])
    started = time.perf_counter()
    rng, now = random.Random(2026), datetime.now(UTC)
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO districts (id, name, name_en) VALUES (%s, %s, %s)",
                [(d, f"城区商圈{d[-2:]}", f"City district {d[-2:]}") for d in OTHER_DISTRICTS],
            )
            progress(f"registry  loading {people:,} people with COPY (once; kept for later runs)")
            with cur.copy("COPY people (name, mobile, roles, district_id, created_at, updated_at) FROM STDIN") as copy:
                for row in _people_rows(rng, now, people):
                    copy.write_row(row)
            progress(f"registry  loading {merchants:,} merchants with COPY")
            with cur.copy(
                "COPY merchants (shop_name, district_id, category, credit_code, contact_phone, created_at, updated_at)"
                " FROM STDIN"
            ) as copy:
                for row in _merchant_rows(rng, now, merchants, alliance):
                    copy.write_row(row)
            cur.execute("CREATE TABLE bench_dataset (version text NOT NULL)")
            cur.execute("INSERT INTO bench_dataset VALUES (%s)", (dataset,))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE people")
        conn.execute("VACUUM ANALYZE merchants")
    progress(f"registry  city data loaded in {time.perf_counter() - started:,.0f} s")
    return url


def _p95(samples):
    return quantiles(samples, n=20)[-1] * 1000


def _timed(fn, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


_RAW_SEARCH = {
    "people": "SELECT p.id::text, p.name, p.mobile, p.roles, p.district_id FROM people p"
    " WHERE p.name_grams @> %(grams)s::text[] {like} ORDER BY p.id LIMIT 21",
    "merchants": "SELECT m.id::text, m.shop_name, m.district_id, m.credit_code FROM merchants m"
    " WHERE m.shop_name_grams @> %(grams)s::text[] {like} ORDER BY m.id LIMIT 21",
}


def _raw_search(conn, table, fragment):
    grams = [fragment] if len(fragment) <= 2 else [fragment[i : i + 2] for i in range(len(fragment) - 1)]
    column = "p.name" if table == "people" else "m.shop_name"
    like = "" if len(fragment) <= 2 else f"AND lower({column}) LIKE %(like)s"
    return conn.execute(_RAW_SEARCH[table].format(like=like), {"grams": grams, "like": f"%{fragment}%"}).fetchall()


_RAW_AUDIENCE = (
    "SELECT m.id::text AS id, m.shop_name, coalesce(m.contact_phone, o.mobile) AS mobile,"
    " coalesce(o.language, 'zh-CN') AS language, m.district_id FROM merchants m LEFT JOIN people o ON o.id = m.owner_id"
    " WHERE m.district_id = ANY(%(districts)s) AND m.status <> 'closed'"
    " AND (m.district_id, m.id) > (%(d)s, %(i)s::uuid)"
    " ORDER BY m.district_id, m.id LIMIT 1001"
)


def _raw_audience(conn):
    after, total = ("", "00000000-0000-0000-0000-000000000000"), 0
    while True:
        rows = conn.execute(
            _RAW_AUDIENCE, {"districts": list(ALLIANCE_DISTRICTS), "d": after[0], "i": after[1]}
        ).fetchall()
        total += min(len(rows), 1000)
        if len(rows) <= 1000:
            return total
        after = (rows[999]["district_id"], rows[999]["id"])


def _rpc_audience(registry):
    total, cursor = 0, None
    while True:
        page = registry.resolve_audience(districts=list(ALLIANCE_DISTRICTS), limit=1000, cursor=cursor)
        total += len(page["contacts"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total


def run(env, quick):
    repeat, audience_repeat = (20, 5) if quick else (200, 30)
    city = ensure_city(env.admin_db)
    env.start_registry(database=city)
    token = TokenService.from_config(load_config("registry")).issue(
        "bench", "system", roles=["admin", "system"], districts=["*"]
    )
    results = []
    with (
        AllianceClient(env.amqp_uri, token, timeout=30) as alliance,
        psycopg.connect(city, autocommit=True, row_factory=dict_row) as conn,
    ):
        registry = alliance.registry
        search = {"people": registry.search_people, "merchants": registry.search_merchants}
        rpc_samples, sql_samples = {"people": [], "merchants": []}, {"people": [], "merchants": []}
        for table, fragment in SEARCHES:
            column = "name" if table == "people" else "shop_name"
            via_rpc = [item[column] for item in search[table](name=fragment)["items"]]
            via_sql = _raw_search(conn, table, fragment)
            if len(via_rpc) != min(len(via_sql), 20) or any(fragment not in name for name in via_rpc):
                raise BenchError(f"search {table} {fragment!r}: the RPC and the SQL disagree")
            _timed(lambda table=table, fragment=fragment: search[table](name=fragment), WARMUP)
            rpc = _timed(lambda table=table, fragment=fragment: search[table](name=fragment), repeat)
            raw = _timed(lambda table=table, fragment=fragment: _raw_search(conn, table, fragment), repeat)
            rpc_samples[table] += rpc
            sql_samples[table] += raw
            progress(
                f"registry  search {table} {fragment!r}: {len(via_sql) if len(via_sql) < 21 else '20+'} found,"
                f" p95 RPC {_p95(rpc):.1f} ms, SQL {_p95(raw):.1f} ms"
            )
        for table in ("people", "merchants"):
            figure, baseline = _p95(rpc_samples[table]), _p95(sql_samples[table])
            results.append(
                Result(
                    scenario="registry",
                    variant=f"search_{table} by name fragment (of {PEOPLE if table == 'people' else MERCHANTS:,})",
                    unit="ms p95",
                    figure=figure,
                    baselines={"raw SQL": baseline},
                    compared_to="raw SQL",
                    goal=f"< {GOAL_SEARCH_MS} ms",
                    met=figure < GOAL_SEARCH_MS,
                )
            )
        expected = sum(ALLIANCE_DISTRICTS.values())
        if _rpc_audience(registry) != expected or _raw_audience(conn) != expected:
            raise BenchError(f"resolve_audience did not return the {expected} merchants of the three districts")
        _timed(lambda: _rpc_audience(registry), WARMUP)
        rpc = _timed(lambda: _rpc_audience(registry), audience_repeat)
        raw = _timed(lambda: _raw_audience(conn), audience_repeat)
        progress(
            f"registry  resolve_audience {expected:,} merchants, all pages: median RPC {median(rpc) * 1000:.1f} ms,"
            f" SQL {median(raw) * 1000:.1f} ms"
        )
        results.append(
            Result(
                scenario="registry",
                variant=f"resolve_audience, {expected:,} merchants, all pages",
                unit="ms p95",
                figure=_p95(rpc),
                baselines={"raw SQL": _p95(raw)},
                compared_to="raw SQL",
                goal=f"< {GOAL_AUDIENCE_MS} ms",
                met=_p95(rpc) < GOAL_AUDIENCE_MS,
            )
        )
    return results
