"""``python -m bench.profiled NAME OUT [RECORDING]``: ``alliance-service NAME`` under cProfile, its
statistics written to ``OUT`` when it stops (and its sessions recorded to ``RECORDING`` as
``recorded.py`` does, when given). ``BENCH_PROFILE=NAME`` in the bench's environment starts it so;
SIGUSR1 (``Environment.restart_profile``) throws away what was gathered so far — the start, the
imports — so that the file holds the measured calls only.

The clock is the process's CPU time. cProfile follows the one OS thread across green threads: a
function's own time (tottime) is right; cumulative times of functions that switch green threads
are not to be read.
"""

import eventlet

eventlet.monkey_patch()  # as alliance-service does, before anything imports socket

import cProfile  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from alliance_platform.runner import run  # noqa: E402


def main(name, out):
    # CPU time, not wall time: on a loaded machine the time the process waits for a core would be
    # charged to whatever function it was in.
    profile = cProfile.Profile(time.process_time)

    def restart(signum, frame):
        profile.disable()
        profile.clear()
        profile.enable()

    signal.signal(signal.SIGUSR1, restart)
    profile.enable()
    try:
        run(name)
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    if len(sys.argv) > 3:  # a recorded service (``recorded.py``), profiled as well
        from .recorded import record_to

        record_to(sys.argv[3])
    main(sys.argv[1], sys.argv[2])
