"""Database waits that yield to the eventlet hub.

Waiting on the server must yield to the eventlet hub, or one slow query stalls every worker in the
process and starves the broker heartbeats. psycopg's C wait function blocks in C, so the platform
gives psycopg a wait loop of its own (``_green_wait``) that parks the green thread on eventlet's
hub, keeping the C build's speed for everything else. ``install()`` puts it in place; the service
runner and the ``Database`` dependency call it (a process that imports the store without running
a service — the operator command — keeps psycopg's own wait).
``tests/integration/test_db_concurrency.py`` proves that queries overlap inside one service.
"""

from time import monotonic

import psycopg
from eventlet import patcher
from eventlet.green import select as green_select
from eventlet.hubs import trampoline
from psycopg import waiting

_real_select = patcher.original("select")


def _green_wait(gen, fileno, interval=0.0, timeout=None):
    """psycopg's wait loop, waiting through eventlet's hub.

    ``waiting.wait_select`` works through eventlet's green ``select``, which for every wait builds
    listeners for three lists and a timer for psycopg's 0.1 s wake-up interval (there only so that
    a blocked thread notices Ctrl-C, which a green thread does not need): in a busy service that was
    a fifth of the process's CPU. Here a wait first asks the kernel, without blocking, whether the
    socket is ready already (a pipeline's writes usually are); else it parks the green thread on
    the hub for the one event psycopg asked for.
    """
    deadline = None if timeout is None else monotonic() + timeout
    try:
        state = next(gen)
        while True:
            wanted = (
                ([fileno] if state & waiting.WAIT_R else []),
                ([fileno] if state & waiting.WAIT_W else []),
            )
            readable, writable, _ = _real_select.select(*wanted, [], 0)
            if not (readable or writable):
                remaining = None if deadline is None else max(0.0, deadline - monotonic())
                if state == waiting.WAIT_RW:
                    readable, writable, _ = green_select.select(*wanted, [], remaining)
                else:
                    try:
                        trampoline(
                            fileno,
                            read=state == waiting.WAIT_R,
                            write=state == waiting.WAIT_W,
                            timeout=remaining,
                            timeout_exc=_WaitExpired,
                        )
                    except _WaitExpired:
                        pass
                    else:
                        readable, writable = wanted
            ready = (waiting.READY_R if readable else 0) | (waiting.READY_W if writable else 0)
            state = gen.send(ready)
            if deadline is not None and monotonic() >= deadline:
                raise psycopg.errors._WaitTimeout("wait timeout expired")
    except OSError as exc:
        raise psycopg.OperationalError("connection socket closed") from exc
    except StopIteration as done:
        return done.value


class _WaitExpired(Exception):
    pass


def install():
    """Make psycopg wait through eventlet's hub in this process (idempotent)."""
    waiting.wait = _green_wait
