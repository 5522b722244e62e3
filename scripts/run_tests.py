#!/usr/bin/env python3
"""`make test`: the whole suite, in two pytest processes at once.

Most of the suite waits — on the broker, the database, processes it started — rather than
computes, so two runs side by side on the machine's two cores take little more than the longer
of the two (measured 2026-12-04: 9 min 56 s and 8 min 22 s side by side, ~18 min one after the
other). Each run is a pytest session of its own: its own template databases (named after its
pid), its own vhosts, its own private servers; nothing of one is visible to the other.

The first run takes the listed folders; the second takes everything else under tests/ (``--ignore``
of those), so a test added anywhere is always run. Their output is printed as it comes, each line
prefixed with the run's number; at the end, each run's summary again, unprefixed, and last the
tests that failed (where the tail of the output shows them). The exit status is the first failing
run's (pytest's: 1 tests failed, 5 none collected ...), 0 when both passed.
Arguments are passed to both runs (``scripts/run_tests.py -x``).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# About half of the suite's time each (2026-12-04: 592 s of test time here, 499 s in the rest):
# the drills, the end-to-end and deployment tests here, integration and use cases in the other.
FIRST = [
    "tests/drills",
    "tests/e2e",
    "tests/deploy",
    "tests/interop",
    "tests/unit",
    "tests/integration/gateway",
    "tests/integration/tickets",
]


def _commands(args):
    python = [sys.executable, "-m", "pytest"]
    rest = ["tests", *(f"--ignore={path}" for path in FIRST)]
    return [python + FIRST + args, python + rest + args]


def _relay(number, stream, lines, lock):
    for line in stream:
        lines.append(line)
        with lock:
            sys.stdout.write(f"[{number}] {line}")
            sys.stdout.flush()


def _summary(lines):
    """The run's closing part: from pytest's short test summary (or its last section) to the end."""
    for marker in ("short test summary info", "slowest"):
        for i in range(len(lines) - 1, -1, -1):
            if marker in lines[i]:
                return lines[i:]
    return lines[-5:]


def main(args):
    for path in FIRST:
        if not (ROOT / path).is_dir():
            raise SystemExit(f"run_tests: {path} is listed for the first run but is not a folder")
    started = time.monotonic()
    lock = threading.Lock()
    runs = []
    stopped = []

    def stop_runs(signum, frame):
        # Stopped from outside (CI's time limit, kill): each run is interrupted as by Ctrl-C, so that
        # pytest tears down and ends its servers (the next run ends what a harder stop leaves).
        # Ctrl-C itself reaches the runs from the terminal: not sent twice (a second one cuts
        # pytest's teardown short). No wait here: the main thread's wait below may hold its lock.
        stopped.append(signum)
        if signum != signal.SIGINT:
            for _, process, _, _ in runs:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop_runs)
    signal.signal(signal.SIGINT, stop_runs)
    for number, command in enumerate(_commands(args), start=1):
        print(f"[{number}] {' '.join(command[1:])}", flush=True)
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=os.environ
        )
        lines = []
        relay = threading.Thread(target=_relay, args=(number, process.stdout, lines, lock), daemon=True)
        relay.start()
        runs.append((number, process, relay, lines))

    codes = []
    for _, process, relay, _ in runs:
        codes.append(process.wait())
        relay.join()
    for (number, _, _, lines), code in zip(runs, codes, strict=True):
        print(f"\n===== run {number} of 2: exit status {code} =====")
        sys.stdout.writelines(_summary(lines))
    if stopped:
        print(f"\nthe suite was stopped (signal {stopped[0]})")
        return 128 + stopped[0]
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    # What failed comes last, where a reader of only the output's tail (CI's report) sees it.
    for (number, _, _, lines), code in zip(runs, codes, strict=True):
        if code:
            failed = [line for line in _summary(lines) if line.startswith(("FAILED ", "ERROR "))]
            print(f"\nrun {number} failed (exit status {code}):")
            sys.stdout.writelines(failed or _summary(lines)[-3:])
    print(f"\nthe whole suite: {'passed' if not any(codes) else 'FAILED'} in {minutes} min {seconds} s")
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
