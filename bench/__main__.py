"""``python -m bench [SCENARIO ...] [--quick]``: run the scenarios, print the table, save JSON.

Exits 0 when every scenario measured, whether or not it met its goal; 1 when one could not measure.
"""

import warnings

# nameko 2.14 runs on eventlet; its deprecation notice is not actionable here (as in the tests).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

# Before anything imports socket: nameko's standalone proxies and the platform's database waits
# rely on eventlet's green stdlib, as they do inside the services being measured.
eventlet.monkey_patch()

import argparse  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from alliance_platform import logs  # noqa: E402
from alliance_platform.store import green  # noqa: E402

from . import (  # noqa: E402
    console_pages,
    cost_curves,
    demand_desk,
    event_latency,
    gateway_roundtrip,
    notifications_fanout,
    outbox_drain,
    peak_day,
    registration_burst,
    registry_scale,
    rpc_roundtrip,
    scale_out,
)
from .environment import LOG_DIR, BenchError, Environment  # noqa: E402
from .report import console, print_table, write_json  # noqa: E402

green.install()  # database work in this process yields to the hub, as in the services

SCENARIOS = {
    "rpc": rpc_roundtrip.run,
    "outbox": outbox_drain.run,
    "latency": event_latency.run,
    "registry": registry_scale.run,
    "tickets": demand_desk.run,
    "events": registration_burst.run,
    "notifications": notifications_fanout.run,
    "gateway": gateway_roundtrip.run,
    "console": console_pages.run,
    "scaleout": scale_out.run,
    "curves": cost_curves.run,
    "peak": peak_day.run,
}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run benchmark scenarios, each figure beside a baseline from the same run."
    )
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"any of {', '.join(SCENARIOS)} (all)")
    parser.add_argument("--quick", action="store_true", help="fewer iterations: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")

    logs.configure(fmt="console", level="WARNING", stream=sys.stderr)  # migrations' info lines are noise here
    started_at = datetime.now(UTC)
    results = []
    try:
        with Environment() as env:
            for name in dict.fromkeys(args.scenarios) or SCENARIOS:
                results += SCENARIOS[name](env, args.quick)
    except BenchError as exc:
        console.print(f"[red]bench failed:[/red] {exc} (service logs in {LOG_DIR})")
        return 1
    except KeyboardInterrupt:
        console.print("interrupted; the bench's processes are stopped and its vhost deleted")
        return 130
    print_table(results, args.quick)
    console.print(f"results saved to {write_json(results, args.quick, started_at)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
