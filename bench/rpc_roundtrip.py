"""Scenario ``rpc``: one RPC round trip through the platform against a bare nameko echo and raw kombu.

The platform call, ``registry.get_merchant``, verifies the caller's signed token, loads its
argument with marshmallow, logs the call and reads one row by primary key. Both baselines answer
with that same merchant record, so requests and replies are about the same size and only the work
in between differs. Each target makes its calls sequentially and then with 10 in flight, in slices
interleaved with the other targets'; its figure is the median of its slices. Reported beside them:
the CPU time each answering process spent per call (its ``/proc`` counters), which a loaded machine
disturbs far less than calls per second.
"""

import time
from collections import defaultdict, deque
from statistics import median

from nameko.standalone.rpc import ClusterRpcProxy

from alliance_platform.config import load_config
from alliance_platform.identity import TokenService
from alliance_platform.rpc import AllianceClient
from alliance_registry.domain.identifiers import make_credit_code

from .environment import BenchError, cpu_seconds
from .kombu_echo import KombuRpc
from .report import Result, progress

WINDOWS = {"sequential": 1, "10 in flight": 10}
GOAL_RATIO = 0.8
TIMEOUT = 10


def measure(send, calls, window):
    """Calls per second of ``send()`` with at most ``window`` calls waiting for their reply."""
    pending = deque()
    started = time.perf_counter()
    for _ in range(calls):
        if len(pending) == window:
            pending.popleft().result()
        pending.append(send())
    while pending:
        pending.popleft().result()
    return calls / (time.perf_counter() - started)


def run(env, quick):

    calls, warmup, slices = (200, 50, 2) if quick else (2000, 200, 10)
    env.start_registry()
    env.start_nameko_echo()
    env.start_kombu_echo()
    token = TokenService.from_config(load_config("registry")).issue(
        "bench", "system", roles=["admin", "system"], districts=["*"]
    )
    with (
        AllianceClient(env.amqp_uri, token, timeout=TIMEOUT) as alliance,
        ClusterRpcProxy({"AMQP_URI": env.amqp_uri}, timeout=TIMEOUT) as cluster,
        KombuRpc(env.amqp_uri, timeout=TIMEOUT) as kombu_rpc,
    ):
        # The bench's database is new each run, so a fixed credit code never clashes.
        merchant = alliance.registry.register_merchant(
            shop_name="压测五金店",
            district_id="wholesale_city",
            category="五金",
            credit_code=make_credit_code("91371400BENCH0001"),
        )
        get_merchant, echo = alliance.registry.get_merchant, cluster.bench_echo.echo
        targets = {
            "platform": lambda: get_merchant.call_async(merchant_id=merchant["merchant_id"]),
            "nameko echo": lambda: echo.call_async(merchant),
            "kombu echo": lambda: kombu_rpc.call_async(merchant),
        }
        for name, send in targets.items():
            if send().result() != merchant:
                raise BenchError(f"{name} answered something other than the merchant record")
            measure(send, warmup, max(WINDOWS.values()))
        # Short slices, interleaved, median of each: a burst of other load on the box slows a slice of
        # every target alike, and the median sets it aside.
        rates, cpu, served = defaultdict(list), defaultdict(float), defaultdict(int)
        pids = {
            "platform": env.pid("registry"),
            "nameko echo": env.pid("nameko_echo"),
            "kombu echo": env.pid("kombu_echo"),
        }
        progress(f"rpc  calls/s of {' / '.join(targets)}, {calls // slices} calls a slice")
        for number in range(1, slices + 1):
            for variant, window in WINDOWS.items():
                for name, send in targets.items():
                    before = cpu_seconds(pids[name])
                    rates[name, variant].append(measure(send, calls // slices, window))
                    cpu[name] += cpu_seconds(pids[name]) - before
                    served[name] += calls // slices
            figures = "   ".join(
                f"{variant} {' / '.join(f'{rates[name, variant][-1]:,.0f}' for name in targets)}" for variant in WINDOWS
            )
            progress(f"rpc  slice {number}/{slices}  {figures}")
    figure = {key: median(values) for key, values in rates.items()}
    per_call = {name: cpu[name] * 1000 / served[name] for name in targets}
    progress(
        "rpc  answering process's CPU per call: " + " / ".join(f"{name} {ms:.2f} ms" for name, ms in per_call.items())
    )
    cpu_result = Result(
        scenario="rpc",
        variant="answering process's CPU per call",
        unit="ms",
        figure=per_call["platform"],
        baselines={name: per_call[name] for name in ("nameko echo", "kombu echo")},
        compared_to="nameko echo",
        goal="reported",
        met=True,
    )
    return [
        Result(
            scenario="rpc",
            variant=variant,
            unit="calls/s",
            figure=figure["platform", variant],
            baselines={name: figure[name, variant] for name in ("nameko echo", "kombu echo")},
            compared_to="nameko echo",
            goal=f"≥ {GOAL_RATIO}× nameko echo",
            met=figure["platform", variant] >= GOAL_RATIO * figure["nameko echo", variant],
        )
        for variant in WINDOWS
    ] + [cpu_result]
