"""Scenario ``gateway``: ``GET /v1/tickets/{id}`` through the HTTP gateway beside the direct RPC of
the same method and beside a bare nameko HTTP echo.

Three targets answer with the same ticket, seeded through the tickets service:

- ``direct RPC``: ``tickets.get_ticket`` from ``AllianceClient`` (the baseline);
- ``gateway``: ``GET /v1/tickets/{id}`` with a bearer token, from a real ``alliance-service
  gateway`` process, which calls ``tickets.get_ticket`` with that token;
- ``HTTP echo``: a nameko ``http`` entrypoint answering that path with the gateway's answer as a
  constant (``http_echo.py``): what nameko's web server and the HTTP client cost alone. Measured
  with the same client, it is the ceiling the client leaves: a gateway figure near it would be the
  client's, not the gateway's.

``RPC + echo in series``, 1 / (1/direct + 1/echo), is what a gateway that added nothing to an HTTP
hop and an RPC would reach: one caller waits for both in turn; with the box's cores busy, the
processes share them and their CPU per call adds up the same way.

Each caller holds its own connection (HTTP keep-alive, one urllib3 pool of one connection; one
``AllianceClient``) and makes its calls one after the other; sequential is one caller, 10 in flight
ten callers at once (green threads), in slices interleaved between the targets. A target's rate
and its p95 latency (each call timed on its own) are the medians of its slices'. Goals: the gateway
≥ 0.8× the direct RPC rate; p95 < 20 ms with 10 in flight.

Beside the table, the CPU time each process (the bench's clients, the gateway, the tickets service,
the echo) spent per call of each target: where the time goes. ``BENCH_PROFILE=gateway`` runs the
gateway under cProfile over the measured slices (``profiled.py``; its statistics land in
``bench/results/logs/gateway.prof``, and its figures are then a profiled process's).
"""

import json
import time
from collections import defaultdict
from contextlib import ExitStack, closing
from statistics import median, quantiles

import eventlet
import urllib3

from alliance_platform.rpc import AllianceClient

from . import services
from .demand_desk import _seed_merchant, _sink, _submission
from .environment import GATEWAY_HTTP, HTTP_ECHO, BenchError, cpu_seconds
from .report import Result, progress
from .rpc_roundtrip import WINDOWS

GOAL_RATIO, GOAL_P95_MS = 0.8, 20
TIMEOUT = 10


class HttpCaller:
    """``GET path`` with a bearer token on one kept-alive connection; the answer's JSON."""

    def __init__(self, address, path, token):
        host, port = address.rsplit(":", 1)
        self.pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=1, block=True, retries=False, timeout=TIMEOUT)
        self._path, self._headers = path, {"Authorization": f"Bearer {token}"}

    def __call__(self):
        response = self.pool.request("GET", self._path, headers=self._headers)
        if response.status != 200:
            raise BenchError(f"GET {self._path} on port {self.pool.port}: {response.status} {response.data[:300]!r}")
        return json.loads(response.data)

    def close(self):
        self.pool.close()


def measure(callers, calls, window):
    """(calls/s, each call's milliseconds) of ``calls`` calls split over the first ``window`` callers,
    each making its share one after the other."""
    share = calls // window
    latencies = []

    def loop(call):
        for _ in range(share):
            started = time.perf_counter()
            call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    list(eventlet.GreenPool(window).imap(loop, callers[:window]))
    return share * window / (time.perf_counter() - started), latencies


def p95(latencies):
    return quantiles(latencies, n=20)[-1]


def _slices(env, targets, calls, slices):
    """Rates and p95s of each target, slice after slice; the CPU each process spent on each target."""
    rates, latencies, cpu = defaultdict(list), defaultdict(list), defaultdict(float)
    # CPU per call is the figure a loaded machine changes least: it says where the time goes.
    processes = {"bench": None, **{name: env.pid(name) for name in ("gateway", "tickets", "http_echo")}}
    env.restart_profile("gateway")  # under BENCH_PROFILE=gateway: these calls only
    progress(f"gateway  calls/s of {' / '.join(targets)}, {calls // slices} calls a slice")
    for number in range(1, slices + 1):
        for variant, window in WINDOWS.items():
            for name, pool in targets.items():
                before = {process: cpu_seconds(pid) for process, pid in processes.items()}
                rate, times = measure(pool, calls // slices, window)
                for process, pid in processes.items():
                    cpu[name, variant, process] += cpu_seconds(pid) - before[process]
                rates[name, variant].append(rate)
                latencies[name, variant].append(p95(times))
        figures = "   ".join(
            f"{variant} {' / '.join(f'{rates[name, variant][-1]:,.0f}' for name in targets)}" for variant in WINDOWS
        )
        progress(f"gateway  slice {number}/{slices}  {figures}")
    for variant in WINDOWS:
        for name in targets:
            spent = (
                f"{process} {cpu[name, variant, process] * 1000 / (calls // slices * slices):.2f}"
                for process in processes
            )
            progress(f"gateway  CPU ms a call, {variant}, {name}: {'  '.join(spent)}")
    return {key: median(values) for key, values in rates.items()}, {
        key: median(values) for key, values in latencies.items()
    }


def run(env, quick):
    calls, warmup, slices = (200, 50, 2) if quick else (2000, 200, 10)
    callers = max(WINDOWS.values())
    database = services.fresh_database(env, "tickets")
    _sink(env)
    services.start(env, "tickets", database)
    env.start_gateway()
    token = services.token()
    with ExitStack() as stack:
        clients = [stack.enter_context(AllianceClient(env.amqp_uri, token, timeout=TIMEOUT)) for _ in range(callers)]
        ticket_id = clients[0].tickets.submit_ticket(**_submission(_seed_merchant(database)))["ticket_id"]
        ticket = clients[0].tickets.get_ticket(ticket_id=ticket_id)
        env.start_http_echo(json.dumps(ticket, ensure_ascii=False))
        path = f"/v1/tickets/{ticket_id}"
        http = {
            name: [stack.enter_context(closing(HttpCaller(address, path, token))) for _ in range(callers)]
            for name, address in (("gateway", GATEWAY_HTTP), ("HTTP echo", HTTP_ECHO))
        }
        targets = {
            "direct RPC": [lambda a=alliance: a.tickets.get_ticket(ticket_id=ticket_id) for alliance in clients],
            **http,
        }
        for name, pool in targets.items():
            if (answer := pool[0]()) != ticket:
                raise BenchError(f"{name} answered something other than the ticket: {str(answer)[:300]}")
            measure(pool, warmup, callers)
        rate, ms = _slices(env, targets, calls, slices)
        # Every HTTP caller kept its one connection: a figure with a connect per call is another one.
        opened = {name: sum(caller.pool.num_connections for caller in pool) for name, pool in http.items()}
        if any(count != callers for count in opened.values()):
            raise BenchError(f"HTTP connections not kept alive: {opened} opened by {callers} callers each")
    results = []
    for variant in WINDOWS:
        direct, gateway, echo = (rate[name, variant] for name in targets)
        results += [
            Result(
                scenario="gateway",
                variant=f"GET /v1/tickets/{{id}}, {variant}",
                unit="calls/s",
                figure=gateway,
                baselines={
                    "direct RPC": direct,
                    "HTTP echo": echo,
                    "RPC + echo in series": 1 / (1 / direct + 1 / echo),
                },
                compared_to="direct RPC",
                goal=f"≥ {GOAL_RATIO}× direct RPC",
                met=gateway >= GOAL_RATIO * direct,
            ),
            Result(
                scenario="gateway",
                variant=f"bare HTTP echo, {variant}",
                unit="calls/s",
                figure=echo,
                baselines={"direct RPC": direct, "gateway": gateway},
                compared_to="direct RPC",
                goal="above the gateway (the client is not its bottleneck)",
                met=echo > gateway,
            ),
            Result(
                scenario="gateway",
                variant=f"GET /v1/tickets/{{id}}, {variant}, p95",
                unit="ms",
                figure=ms["gateway", variant],
                baselines={"direct RPC p95": ms["direct RPC", variant], "HTTP echo p95": ms["HTTP echo", variant]},
                compared_to="direct RPC p95",
                goal=f"p95 < {GOAL_P95_MS} ms",
                met=ms["gateway", variant] < GOAL_P95_MS,
            ),
        ]
    return results
