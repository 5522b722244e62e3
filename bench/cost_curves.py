"""Scenario ``curves``: what a call costs as the data grows — three sizes an order of magnitude apart.

- ``list_tickets``: a page of 50 for a staff member of one district, over 10,000 / 100,000 /
  1,000,000 tickets (the largest is the ``tickets`` scenario's city data);
- ``search_people``: one page of 20 by a name fragment of one, two and three characters, over
  10,000 / 100,000 / 1,000,000 people (the largest is the ``registry`` scenario's city data);
- ``resolve_audience``: every merchant of one district (500, the same at every size), all pages, over
  1,000 / 10,000 / 100,000 merchants.

Each answer is the same size at every size of the data, so a flat or logarithmic curve is what an
index gives and a linear one is a scan. The table prints p50 and p95 per size; the verdict fails a
call whose median grows more than 2× from one size to the next (the median: a burst of other load
on the box moves a p95 by more than that). ``--quick`` uses sizes a tenth of these (its own data,
kept between runs like the rest).
"""

import time
from statistics import median, quantiles

from rich import box
from rich.table import Table

from alliance_platform.rpc import AllianceClient

from . import demand_desk, registry_scale, services
from .report import Result, console, progress

GROWTH_LIMIT = 2.0
DISTRICT = "aodele"
FRAGMENTS = ["王", "建国", "张晓明"]
TIMEOUT = 30


def _timed_ms(fn, repeat, warmup=5):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _audience(registry):
    total, cursor = 0, None
    while True:
        page = registry.resolve_audience(districts=[DISTRICT], limit=1000, cursor=cursor)
        total += len(page["contacts"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total


def _registry_curves(env, sizes, audience, repeat):
    samples = {"search_people": {}, "resolve_audience": {}}
    for people, merchants in sizes:
        city = (people, merchants) == (registry_scale.PEOPLE, registry_scale.MERCHANTS)
        alliance = None if city else {DISTRICT: audience}
        database = registry_scale.ensure_city(env.admin_db, people, merchants, alliance)
        env.start_registry(database=database)
        with AllianceClient(env.amqp_uri, services.token(), timeout=TIMEOUT) as alliance_client:
            registry = alliance_client.registry
            found = _audience(registry)
            if found != audience:
                raise AssertionError(f"resolve_audience found {found} merchants of {DISTRICT}, expected {audience}")
            searched = []
            for fragment in FRAGMENTS:
                searched += _timed_ms(lambda r=registry, f=fragment: r.search_people(name=f), repeat)
            samples["search_people"][people] = searched
            samples["resolve_audience"][merchants] = _timed_ms(lambda r=registry: _audience(r), max(5, repeat // 4))
        progress(f"curves  registry at {people:,} people / {merchants:,} merchants measured")
    return samples


def _tickets_curve(env, sizes, calls):
    samples = {}
    for count in sizes:
        database = demand_desk._city_database(env, count)
        services.start(env, "tickets", database)
        staff = services.token(roles=["staff"], districts=[demand_desk.STAFF_DISTRICT], subject="staff-7", kind="staff")
        with AllianceClient(env.amqp_uri, staff, timeout=TIMEOUT) as alliance:
            state = {"cursor": None, "n": 0}

            # Its first pages and a few pages deep, as the tickets scenario reads them.
            def page(alliance=alliance, state=state):
                result = alliance.tickets.list_tickets(limit=50, cursor=state["cursor"])
                state["n"] += 1
                state["cursor"] = result["next_cursor"] if state["n"] % 5 else None
                if len(result["items"]) != 50:
                    raise AssertionError(f"a page of {len(result['items'])} tickets, expected 50")

            samples[count] = _timed_ms(page, calls, warmup=20)
        progress(f"curves  list_tickets at {count:,} tickets measured")
    return samples


def _p95(values):
    return quantiles(values, n=20)[-1]


def run(env, quick):
    scale = 10 if quick else 1
    people = [n // scale for n in (10_000, 100_000, 1_000_000)]
    merchants = [n // scale for n in (1_000, 10_000, 100_000)]
    tickets = [n // scale for n in (10_000, 100_000, 1_000_000)]
    audience = 500 // scale
    repeat = 20 if quick else 100
    if not quick:
        # The largest merchant size is the city's, whose district holds the same 500.
        assert registry_scale.ALLIANCE_DISTRICTS[DISTRICT] == audience
    curves = _registry_curves(env, list(zip(people, merchants, strict=True)), audience, repeat)
    curves["list_tickets"] = _tickets_curve(env, tickets, 2 * repeat)
    units = {"list_tickets": "tickets", "search_people": "people", "resolve_audience": "merchants"}

    table = Table(box=box.SIMPLE_HEAD, title="cost curves: p50 / p95 ms by size of the data")
    table.add_column("call")
    for n in range(3):
        table.add_column(f"size {n + 1}", justify="right", no_wrap=True)
    table.add_column("median growth per ×10", justify="right", no_wrap=True)
    results = []
    for call, by_size in curves.items():
        sizes = sorted(by_size)
        medians = [median(by_size[size]) for size in sizes]
        growth = [later / earlier for earlier, later in zip(medians, medians[1:], strict=False)]
        table.add_row(
            call,
            *(f"{size:,}: {median(by_size[size]):.1f} / {_p95(by_size[size]):.1f}" for size in sizes),
            " → ".join(f"{g:.2f}×" for g in growth),
        )
        results.append(
            Result(
                scenario="curves",
                variant=f"{call}, p95 at {sizes[-1]:,} {units[call]}",
                unit="ms",
                figure=_p95(by_size[sizes[-1]]),
                baselines={f"p95 at {size:,}": _p95(by_size[size]) for size in sizes[:-1]},
                compared_to=f"p95 at {sizes[0]:,}",
                goal=f"median ≤ {GROWTH_LIMIT:.0f}× per ×10 of data",
                met=all(g <= GROWTH_LIMIT for g in growth),
            )
        )
    console.print(table)
    return results
