"""Scenario ``console``: the staff console's main pages with 10 staff working at once.

The real processes on the bench's own databases (registry, tickets, events, notifications and the
gateway that serves ``/console``), and a working set seeded through the services themselves: 300
merchants and 150 party members over the three districts, 10 staff (4 of wholesale_city, 3 of
aodele, 3 of outlets), 300 demands the merchants submitted (each staff member has accepted 8 of
their district's: "my work" is never empty), 12 coming activities with 50 registrations each (40
seats: 10 waiting), and 20 messages in each staff member's inbox.

One staff member signs in through the real code flow (the sign-in page's form, the code read from
their inbox as they would, the cookie the console sets); the other nine carry a token minted with
the people issuer's key, as sign-in would issue it. Each holds one kept-alive HTTP connection
(a urllib3 pool of one) with the session and CSRF cookies a browser would send.

The pages, each a GET of the console and what it calls (every page also asks
``notifications.count_unread`` for the navigation):

- ``my work`` ``/console``: ``tickets.list_tickets`` (mine, 50);
- ``demand`` ``/console/tickets/{id}`` (one of my district's, rotating): ``get_ticket``, ``timeline``;
- ``activities`` ``/console/activities?view=list``: ``events.list_activities`` (100), ``registry.list_districts``;
- ``activity`` ``/console/activities/{id}``: ``get_activity``, ``list_registrations`` and
  ``registry.get_person`` for each of its 50 registrants (8 in flight);
- ``register`` ``/console/register?q=…`` (a Chinese fragment, rotating): ``search_merchants``, ``search_people``;
- ``inbox`` ``/console/inbox``: ``notifications.list_inbox`` (50).

Beside each page, in the same run and the same way (10 callers, one connection each): the ``/v1``
JSON call behind it (the page's main RPC through the same gateway, a bearer token) and the bare
nameko HTTP echo (``http_echo.py``) answering with the my-work page's HTML as a constant — what
nameko's web server and this client cost alone.

Slices interleaved: in each slice every target in turn, 10 staff at once, each making its share of
the slice's calls one after the other; a target's rate and p95 (each call timed on its own) are the
medians of its slices'. Then a working-day mix: each staff member loops over the six pages in turn
(each starting at another page), all pages' p95 and the pages/s of the ten. Beside each page's p95,
its p95 with one staff member alone (a fifth of the slice's calls, sequential), measured in the
same slices: the page's own latency, without the other nine. Goal: every page's p95
< 200 ms with 10 in flight. The CPU each process spent per page says where the time goes; the load
average is printed before and after (the machine may be shared).
"""

import os
import random
import re
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime, timedelta
from statistics import median
from urllib.parse import urlencode

import eventlet
import psycopg
import requests
import urllib3
from eventlet.queue import LightQueue
from psycopg import sql

from alliance_platform.config import load_config, service_package
from alliance_platform.identity import TokenService
from alliance_platform.migrate import apply
from alliance_platform.rpc import AllianceClient
from alliance_registry.domain.identifiers import make_credit_code

from . import services
from .demand_desk import _sink
from .environment import GATEWAY_HTTP, HTTP_ECHO, BenchError, _with_path, cpu_seconds
from .gateway_roundtrip import measure, p95
from .registry_scale import GIVEN, SHOP_WORDS, SUFFIXES, TRADES
from .report import Result, progress

GOAL_P95_MS = 200
STAFF = 10
IN_FLIGHT = STAFF
DISTRICTS = ("wholesale_city", "aodele", "outlets")
STAFF_DISTRICTS = ("wholesale_city",) * 4 + ("aodele",) * 3 + ("outlets",) * 3
MERCHANTS, MEMBERS, TICKETS, ACCEPTED = 300, 150, 300, 8
ACTIVITIES, SEATS, REGISTRANTS = 12, 40, 50
MESSAGES = 20
FRAGMENTS = ("鑫", "五金", "华联", "建国", "德百", "王")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
CATEGORIES = ("government_affairs", "labour_social_security", "other", "rights_protection", "online_shop")
TEAMS = ["service-centre", "government-liaisons", "bank-liaisons", "party-branches"]
SESSION_COOKIE, CSRF_COOKIE = "alliance_console", "alliance_csrf"
CODE = re.compile(r"\b(\d{6})\b")
TIMEOUT = 15
SEED_IN_FLIGHT = 8
PAGES = ("my work", "demand", "activities", "activity", "register", "inbox")


class PageCaller:
    """``GET`` paths (one after the other, from ``paths()``) on one kept-alive connection, with
    ``headers``; refuses anything but a 200."""

    def __init__(self, address, paths, headers):
        host, port = address.rsplit(":", 1)
        self.pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=1, block=True, retries=False, timeout=TIMEOUT)
        self._paths, self._headers = paths, headers

    def get(self, path):
        response = self.pool.request("GET", path, headers=self._headers)
        if response.status != 200:
            raise BenchError(f"GET {path} on port {self.pool.port}: {response.status} {response.data[:300]!r}")
        return response.data

    def __call__(self):
        return self.get(next(self._paths))

    def close(self):
        self.pool.close()


def _rotating(items):
    while True:
        yield from items


def _database(env, name):
    """A fresh, migrated database ``alliance_bench_console_<name>`` for service ``name``."""
    database = f"alliance_bench_console_{name}"
    with psycopg.connect(env.admin_db, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    url = _with_path(env.admin_db, f"/{database}")
    apply(url, ["alliance_platform", service_package(name)])
    return url


def _start(env, databases):
    env.start_registry(database=databases["registry"])
    _sink(env)
    services.start(env, "tickets", databases["tickets"])
    services.start(env, "events", databases["events"])
    if "notifications" in env._processes:  # another scenario's, on its database and settings
        env._stop("notifications")
    env.start_notifications(databases["notifications"])
    env.start_gateway()


def _in_parallel(fn, items):
    return list(eventlet.GreenPool(SEED_IN_FLIGHT).imap(fn, items))


class Clients:
    """A few kept clients with the administrator's token, each lent to one green thread at a time."""

    def __init__(self, amqp_uri, token, count=SEED_IN_FLIGHT):
        self._stack = ExitStack()
        self._free = LightQueue()
        for _ in range(count):
            self._free.put(self._stack.enter_context(AllianceClient(amqp_uri, token, timeout=TIMEOUT)))

    @contextmanager
    def lend(self):
        client = self._free.get()
        try:
            yield client
        finally:
            self._free.put(client)

    def close(self):
        self._stack.close()


def _wait(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"after {timeout}s still waiting for {what}")
        time.sleep(0.2)


def _count(database, statement):
    with psycopg.connect(database) as conn:
        return conn.execute(statement).fetchone()[0]


class World:
    """The seeded working set: who the staff are, what they look at."""

    def __init__(self, env, databases, rng):
        self.env, self.databases, self.rng = env, databases, rng
        self.tokens = TokenService.from_config(load_config("registry"))
        self.admin = services.token()
        self.clients = Clients(env.amqp_uri, self.admin)
        self.staff = []  # {"person_id", "name", "mobile", "district", "token", "tickets": [...]}
        self.merchants = []  # (merchant_id, district)
        self.members = []  # (person_id, district)
        self.activities = []

    def client(self, token=None):
        return AllianceClient(self.env.amqp_uri, token or self.admin, timeout=TIMEOUT)

    def staff_token(self, person):
        return self.tokens.issue(
            person["person_id"],
            "staff",
            roles=["staff"],
            districts=[person["district"]],
            name=person["name"],
            ttl=8 * 3600,
        )

    def seed(self):
        started = time.monotonic()
        self._people()
        self._merchants()
        _wait(
            "the tickets service to know the merchants and people",
            lambda: (
                _count(self.databases["tickets"], "SELECT count(*) FROM merchant_directory") >= MERCHANTS
                and _count(self.databases["tickets"], "SELECT count(*) FROM people_directory") >= STAFF + MEMBERS
            ),
        )
        self._tickets()
        self._activities()
        self._messages()
        progress(
            f"console  seeded {MERCHANTS} merchants, {STAFF + MEMBERS} people, {TICKETS} demands,"
            f" {ACTIVITIES} activities x {REGISTRANTS} registrations, {MESSAGES} messages each"
            f" in {time.monotonic() - started:.0f} s"
        )

    def _name(self):
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))

    def _people(self):
        with self.clients.lend() as admin:
            for n, district in enumerate(STAFF_DISTRICTS):
                name = ("王建国", "李芳", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄涛", "周丽", "吴强")[n]
                person = admin.registry.register_person(
                    name=name, mobile=f"1367000{n:04d}", roles=["staff"], district_id=district, teams=TEAMS
                )
                entry = {"person_id": person["person_id"], "name": name, "mobile": f"1367000{n:04d}"}
                self.staff.append({**entry, "district": district, "tickets": []})

        def member(n):
            with self.clients.lend() as admin:
                district = DISTRICTS[n % 3]
                person = admin.registry.register_person(
                    name=self._name(), mobile=f"1368000{n:04d}", roles=[], district_id=district
                )
            return person["person_id"], district

        self.members = _in_parallel(member, range(MEMBERS))

    def _merchants(self):
        words = SHOP_WORDS

        def merchant(n):
            district = DISTRICTS[n % 3]
            trade = TRADES[n % len(TRADES)]
            shop = self.rng.choice(words) + self.rng.choice(words) + trade + self.rng.choice(SUFFIXES)
            if n % 10 == 0:
                shop = "德百" + shop
            with self.clients.lend() as admin:
                made = admin.registry.register_merchant(
                    shop_name=shop,
                    district_id=district,
                    category=trade,
                    credit_code=make_credit_code(f"9137{uuid.uuid4().int % 10**13:013d}"),
                    unit_no=f"{'ABC'[n % 3]}-{100 + n}",
                )
            return made["merchant_id"], district

        self.merchants = _in_parallel(merchant, range(MERCHANTS))

    def _tickets(self):
        def submit(n):
            merchant_id, district = self.merchants[n % MERCHANTS]
            token = self.tokens.issue(
                str(uuid.uuid4()), "merchant", roles=["merchant"], districts=[district], merchant_id=merchant_id
            )
            with self.client(token) as shop:
                made = shop.tickets.submit_ticket(
                    merchant_id=merchant_id,
                    category=CATEGORIES[n % len(CATEGORIES)],
                    title=f"需求 {n}：{('营业执照变更', '社保登记', '门头改造', '商品质量纠纷', '网店开设')[n % 5]}",
                    description="店铺经营中遇到的问题，请服务中心协助办理。",
                    handling_mode="assisted",
                )
            return made["ticket_id"], district

        submitted = _in_parallel(submit, range(TICKETS))
        by_district = defaultdict(list)
        for ticket_id, district in submitted:
            by_district[district].append(ticket_id)

        def accept(person):
            mine = by_district[person["district"]]
            first = person["rank"] * ACCEPTED  # the staff of a district take different demands
            with self.client(person["token"]) as me:
                for ticket_id in mine[first : first + ACCEPTED]:
                    me.tickets.accept_ticket(ticket_id=ticket_id)
                    if len(person["tickets"]) % 2:
                        me.tickets.start_ticket(ticket_id=ticket_id)
                    person["tickets"].append(ticket_id)
            # The demand's page opens the district's demands, mine and others'.
            person["tickets"] += [t for t in mine[:40] if t not in person["tickets"]]

        for number, person in enumerate(self.staff):
            person["rank"] = STAFF_DISTRICTS[:number].count(person["district"])
            person["token"] = self.staff_token(person)
        _in_parallel(accept, self.staff)

    def _activities(self):
        now = datetime.now(UTC)

        def activity(n):
            starts = now + timedelta(days=1 + n, hours=n % 5)
            with self.clients.lend() as admin:
                made = admin.events.create_activity(
                    title=f"{('端午亲子露营节', '商圈党建联席会', '夜市美食周', '消费维权讲座')[n % 4]}（第{n + 1}期）",
                    type="themed_promotion",
                    description="三大商圈联合举办的主题活动。",
                    organisers=[DISTRICTS[n % 3]],
                    venue="德百奥莱广场中庭",
                    starts_at=starts.isoformat(),
                    ends_at=(starts + timedelta(hours=4)).isoformat(),
                    registration_opens_at=(now - timedelta(hours=1)).isoformat(),
                    registration_closes_at=(starts - timedelta(hours=12)).isoformat(),
                    capacity=SEATS,
                    audience={"kinds": ["party_members"], "districts": []},
                    theme_tags=["压测"],
                )
                activity_id = made["activity_id"]
                admin.events.publish_activity(activity_id=activity_id)
                for person_id, district in self.rng.sample(self.members, REGISTRANTS):
                    admin.events.register(activity_id=activity_id, person_id=person_id, district_id=district)
            return activity_id

        self.activities = _in_parallel(activity, range(ACTIVITIES))

    def _messages(self):
        ids = [person["person_id"] for person in self.staff]
        with self.clients.lend() as system:
            for n in range(MESSAGES):
                system.notifications.send(
                    idempotency_key=f"bench-console-{uuid.uuid4()}",
                    person_ids=ids,
                    title=f"工作提醒 {n + 1}",
                    body="您有新的需求待处理，请及时登录工作台查看并受理。",
                    channels=["inbox"],
                )

        def arrived():
            with self.client(self.staff[-1]["token"]) as me:
                return len(me.notifications.list_inbox(limit=50)["items"]) >= MESSAGES

        _wait("the staff's inbox messages", arrived)

    def sign_in(self, person):
        """``person`` signs in through the console's real code flow; their session cookie's token."""
        base = f"http://{GATEWAY_HTTP}/console"
        with requests.Session() as browser:
            browser.get(f"{base}/sign-in", timeout=TIMEOUT).raise_for_status()
            csrf = browser.cookies.get(CSRF_COOKIE)
            asked = browser.post(
                f"{base}/sign-in/code", data={"mobile": person["mobile"], "csrf_token": csrf}, timeout=TIMEOUT
            )
            if asked.status_code != 200:
                raise BenchError(f"asking for a sign-in code: {asked.status_code} {asked.text[:300]}")
            code = None

            def read():
                nonlocal code
                with self.client(self.staff_token(person)) as me:  # the person reading their own inbox
                    for message in me.notifications.list_inbox(limit=50)["items"]:
                        if found := CODE.search(message["body"]):
                            code = found.group(1)
                            return True
                return False

            _wait("the sign-in code in the inbox", read, timeout=60)
            signed = browser.post(
                f"{base}/sign-in",
                data={"mobile": person["mobile"], "code": code, "csrf_token": csrf},
                allow_redirects=False,
                timeout=TIMEOUT,
            )
            token = browser.cookies.get(SESSION_COOKIE)
            if signed.status_code != 303 or not token:
                raise BenchError(f"signing in with the inbox's code: {signed.status_code} {signed.text[:300]}")
        return token


def _page_paths(world, person, n):
    """Each page's paths for staff member ``person`` (number ``n``), as endless rotations."""
    query = {"view": "list"}
    return {
        "my work": _rotating(["/console"]),
        "demand": _rotating([f"/console/tickets/{t}" for t in person["tickets"]]),
        "activities": _rotating([f"/console/activities?{urlencode(query)}"]),
        "activity": _rotating([f"/console/activities/{a}" for a in world.activities[n:] + world.activities[:n]]),
        "register": _rotating([f"/console/register?{urlencode({'q': q})}" for q in FRAGMENTS[n % 6 :] + FRAGMENTS]),
        "inbox": _rotating(["/console/inbox"]),
    }


def _v1_paths(world, person, n):
    """The JSON call behind each page, through the same gateway."""
    coming = datetime.now(UTC).isoformat()
    return {
        "my work": _rotating([f"/v1/tickets?{urlencode({'assignee_id': person['person_id'], 'limit': 50})}"]),
        "demand": _rotating([f"/v1/tickets/{t}" for t in person["tickets"]]),
        "activities": _rotating([f"/v1/activities?{urlencode({'starts_after': coming, 'limit': 100})}"]),
        "activity": _rotating([f"/v1/activities/{a}" for a in world.activities[n:] + world.activities[:n]]),
        "register": _rotating([f"/v1/merchants?{urlencode({'name': q, 'limit': 20})}" for q in FRAGMENTS]),
        "inbox": _rotating(["/v1/inbox?limit=50"]),
    }


V1_CALLS = {
    "my work": "GET /v1/tickets",
    "demand": "GET /v1/tickets/{id}",
    "activities": "GET /v1/activities",
    "activity": "GET /v1/activities/{id}",
    "register": "GET /v1/merchants?name=",
    "inbox": "GET /v1/inbox",
}


def _mix(callers, rounds):
    """Each staff member loops over the six pages ``rounds`` times (each from another page): the
    pages/s of all ten and every page's milliseconds."""
    latencies = defaultdict(list)

    def loop(number):
        order = PAGES[number % len(PAGES) :] + PAGES[: number % len(PAGES)]
        for _ in range(rounds):
            for page in order:
                started = time.perf_counter()
                callers[page][number]()
                latencies[page].append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    list(eventlet.GreenPool(STAFF).imap(loop, range(STAFF)))
    elapsed = time.perf_counter() - started
    return rounds * len(PAGES) * STAFF / elapsed, latencies


def _load():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _measure(env, targets, calls, slices, mix_rounds):
    rates, ms, cpu = defaultdict(list), defaultdict(list), defaultdict(float)
    processes = {
        "bench": None,
        **{name: env.pid(name) for name in ("gateway", "registry", "tickets", "events", "notifications")},
    }
    share = calls // slices
    progress(f"console  {share} calls a slice per target, {IN_FLIGHT} in flight; load average {_load()}")
    for number in range(1, slices + 1):
        for name, callers in targets.items():
            before = {process: cpu_seconds(pid) for process, pid in processes.items()}
            rate, times = measure(callers, share, IN_FLIGHT)
            for process, pid in processes.items():
                cpu[name, process] += cpu_seconds(pid) - before[process]
            rates[name].append(rate)
            ms[name].append(p95(times))
            if name in PAGES:  # the page's own latency, one staff member alone: what contention adds
                ms[name, "alone"].append(p95(measure(callers, max(share // 5, 20), 1)[1]))
        pages = "  ".join(f"{page} {ms[page][-1]:.0f}" for page in PAGES)
        progress(f"console  slice {number}/{slices}  p95 ms: {pages}")
    for page in PAGES:
        spent = "  ".join(f"{process} {cpu[page, process] * 1000 / (share * slices):.1f}" for process in processes)
        progress(f"console  CPU ms a page, {page}: {spent}")
    mixed_rate, mixed = _mix({page: targets[page] for page in PAGES}, mix_rounds)
    every = [value for values in mixed.values() for value in values]
    progress(
        f"console  working-day mix: {mixed_rate:.0f} pages/s, p95 {p95(every):.0f} ms"
        f" ({'  '.join(f'{page} {p95(mixed[page]):.0f}' for page in PAGES)}); load average {_load()}"
    )
    return (
        {name: median(values) for name, values in rates.items()},
        {name: median(values) for name, values in ms.items()},
        (mixed_rate, p95(every), {page: p95(mixed[page]) for page in PAGES}),
    )


def run(env, quick):
    calls, warmup, slices, mix_rounds = (100, 20, 2, 2) if quick else (1000, 60, 5, 10)
    rng = random.Random(16)
    databases = {name: _database(env, name) for name in ("registry", "tickets", "events", "notifications")}
    _start(env, databases)
    world = World(env, databases, rng)
    try:
        world.seed()
    finally:
        world.clients.close()
    world.staff[0]["token"] = world.sign_in(world.staff[0])  # the real code flow, once
    csrf = "b" * 43  # a browser's CSRF cookie (without one, every page would set a new one)
    with ExitStack() as stack:
        pages = defaultdict(list)
        v1 = defaultdict(list)
        for n, person in enumerate(world.staff):
            cookies = {"Cookie": f"{SESSION_COOKIE}={person['token']}; {CSRF_COOKIE}={csrf}"}
            for page, paths in _page_paths(world, person, n).items():
                pages[page].append(stack.enter_context(closing(PageCaller(GATEWAY_HTTP, paths, cookies))))
            bearer = {"Authorization": f"Bearer {person['token']}"}
            for page, paths in _v1_paths(world, person, n).items():
                v1[page].append(stack.enter_context(closing(PageCaller(GATEWAY_HTTP, paths, bearer))))
        first = pages["my work"][0]()
        if b"data-ticket=" not in first:
            raise BenchError(f"my work shows no demand to the signed-in staff member: {first[:300]!r}")
        env.start_http_echo(first.decode())
        echo_paths = _rotating([f"/v1/tickets/{world.staff[0]['tickets'][0]}"])
        echo = [stack.enter_context(closing(PageCaller(HTTP_ECHO, echo_paths, {}))) for _ in range(STAFF)]
        targets = {**pages, **{f"/v1 {page}": callers for page, callers in v1.items()}, "HTTP echo": echo}
        for callers in targets.values():
            measure(callers, warmup, IN_FLIGHT)
        rate, ms, (mixed_rate, mixed_p95, mixed_pages) = _measure(env, targets, calls, slices, mix_rounds)
        opened = {name: sum(caller.pool.num_connections for caller in callers) for name, callers in targets.items()}
        if any(count != len(targets[name]) for name, count in opened.items()):
            raise BenchError(f"HTTP connections not kept alive: {opened}")
    echo_kb = len(first) / 1024
    results = []
    for page in PAGES:
        baselines = {
            f"{V1_CALLS[page]} p95": ms[f"/v1 {page}"],
            "1 staff alone p95": ms[page, "alone"],
            f"HTTP echo {echo_kb:.0f} KB p95": ms["HTTP echo"],
            "in the mix p95": mixed_pages[page],
        }
        results += [
            Result(
                scenario="console",
                variant=f"{page} page, {IN_FLIGHT} staff in flight, p95",
                unit="ms",
                figure=ms[page],
                baselines=baselines,
                compared_to=f"{V1_CALLS[page]} p95",
                goal=f"p95 < {GOAL_P95_MS} ms",
                met=ms[page] < GOAL_P95_MS and mixed_pages[page] < GOAL_P95_MS,
            ),
            Result(
                scenario="console",
                variant=f"{page} page, {IN_FLIGHT} staff in flight",
                unit="pages/s",
                figure=rate[page],
                baselines={V1_CALLS[page]: rate[f"/v1 {page}"], "HTTP echo": rate["HTTP echo"]},
                compared_to=V1_CALLS[page],
                goal=f"≥ {IN_FLIGHT * 1000 // GOAL_P95_MS} pages/s ({IN_FLIGHT} at < {GOAL_P95_MS} ms each)",
                met=rate[page] >= IN_FLIGHT * 1000 / GOAL_P95_MS,
            ),
        ]
    results.append(
        Result(
            scenario="console",
            variant=f"working-day mix of the six pages, {STAFF} staff, p95",
            unit="ms",
            figure=mixed_p95,
            baselines={"pages/s": mixed_rate, "HTTP echo p95": ms["HTTP echo"]},
            compared_to="HTTP echo p95",
            goal=f"p95 < {GOAL_P95_MS} ms",
            met=mixed_p95 < GOAL_P95_MS,
        )
    )
    return results
