"""``python -m bench.recorded NAME OUT``: ``alliance-service NAME`` with every statement of its
workers' sessions recorded, so that a baseline can replay the very same SQL without the platform.

Each committed session is kept as ``(entrypoint, round_trips)``: ``round_trips`` is the list of what
the session sent to the server together — ``BEGIN`` with its first statement, the deferred statements
with the next one, ``COMMIT`` with what was still deferred — each a list of ``(query, params)``.
Sessions that rolled back are not kept (their work was undone). SIGUSR2 writes what was recorded so
far to ``OUT`` (pickle, written whole then renamed) and starts afresh (``composite.recordings``).
What the outbox relay sends is not recorded: it runs beside the workers, on a connection of its own.

Recording costs a list append per statement; the recorded process is the one measured.
"""

import eventlet

eventlet.monkey_patch()  # as alliance-service does, before anything imports socket

import os  # noqa: E402
import pickle  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from alliance_platform.context import current_call  # noqa: E402
from alliance_platform.runner import run  # noqa: E402
from alliance_platform.store.session import Session  # noqa: E402

BEGIN, COMMIT = "BEGIN", "COMMIT"
_recorded = []


def _opening(session):
    """What goes before the next statement: BEGIN (unless sent, or a read-only session) and the
    deferred statements."""
    if session.read_only:
        return []
    return ([] if session._begun else [(BEGIN, None)]) + list(session._pending)


def _trips(session):
    return session.__dict__.setdefault("_bench_trips", [])


def install():
    execute, commit = Session.execute, Session.commit

    def recording_execute(self, query, params=None):
        _trips(self).append([*_opening(self), (query, params)])
        return execute(self, query, params)

    def recording_commit(self):
        finishing = not self.finished and not self.read_only and (self._begun or self._pending)
        # A session that only deferred sends its statements alone: one implicit transaction.
        closing = ([*_opening(self), (COMMIT, None)] if self._begun else list(self._pending)) if finishing else None
        commit(self)
        trips = _trips(self)
        if closing:
            trips.append(closing)
        call = current_call()
        if trips:
            _recorded.append((call.entrypoint if call else None, trips))

    Session.execute, Session.commit = recording_execute, recording_commit


def record_to(out):
    """Record from now on; SIGUSR2 writes what was recorded so far to ``out``."""

    def dump(signum, frame):
        taken = list(_recorded)
        del _recorded[: len(taken)]
        with open(f"{out}.part", "wb") as file:
            pickle.dump(taken, file)
        os.replace(f"{out}.part", out)

    install()
    signal.signal(signal.SIGUSR2, dump)


def main(name, out):
    record_to(out)
    run(name)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
