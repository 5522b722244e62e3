"""Connection pools and the typed errors a caller sees for a database failure."""

import eventlet
import psycopg
import psycopg.errors
import structlog
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from ..errors import Conflict, ServiceUnavailable, ValidationError

log = structlog.get_logger("alliance.db")

# Longest wait between the pool's attempts to replace a connection it lost. psycopg_pool doubles
# the wait after each failure (1, 2, 4, 8 ... s, for up to ``reconnect_timeout``): a primary
# promoted 10 s into an outage was reached only 3-4 s later, when the next attempts came due. An
# attempt costs a refused TCP connection or two; the relay reconnects as often (OUTBOX_RECONNECT_MAX).
RECONNECT_MAX_DELAY = 1.0


class _CappedBackoff(AttemptWithBackoff):
    def update_delay(self, now):
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_MAX_DELAY)


class _Pool(ConnectionPool):
    """psycopg_pool's pool, its reconnection attempts at most ``RECONNECT_MAX_DELAY`` apart."""

    def _add_connection(self, attempt, growing=False):
        # psycopg_pool 3.3 starts a replacement with attempt=None and makes the backoff itself.
        return super()._add_connection(attempt or _CappedBackoff(timeout=self.reconnect_timeout), growing)


def make_pool(url, *, max_size, name, min_size=1, timeout=10.0, configure=None):
    """A pool of autocommit connections with dict rows. ``url`` may name several hosts
    (``postgresql://a:5432,b:5432/db?target_session_attrs=read-write``): libpq tries them in turn
    and keeps the first that has the attributes asked for, so a connection made after a failover
    reaches whichever server is primary now. A connection that broke is thrown away when it comes
    back (``Session.close``), and the pool's idle ones are checked then too (``check_soon``).
    ``configure(conn)`` runs on each new connection."""
    return _Pool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        # Sessions say BEGIN themselves, queued with their first statement (see ``Session``).
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        name=name,
        timeout=timeout,
        configure=configure,
    )


_checking = set()  # pools with a check under way


def check_soon(pool):
    """Weed the broken connections out of ``pool``'s idle ones, in a green thread of their own.

    Called when a session's connection broke: when the server went away, every idle connection
    broke with it, and each would otherwise fail one caller's call before the pool replaced it.
    ``ConnectionPool.check`` tests each idle connection (an empty query) and has the broken ones
    replaced; the pool's own reconnection (with backoff) reaches the new primary.
    """
    if pool in _checking:
        return
    _checking.add(pool)

    def check():
        try:
            pool.check()
        except Exception as exc:  # a pool closing as the service stops: nothing to weed then
            log.info("idle connections not checked", pool=pool.name, error=str(exc))
        finally:
            _checking.discard(pool)

    eventlet.spawn_n(check)


def translate_db_error(exc):
    """The typed error a caller should see for a database failure, or None to let it surface."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return Conflict(f"already exists: {exc.diag.message_detail or exc.diag.message_primary}")
    if isinstance(exc, psycopg.errors.DataError):
        # Values the database cannot store (a NUL character, a number out of range) are bad input.
        return ValidationError("invalid input", {"_value": [exc.diag.message_primary or str(exc)]})
    if isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)):
        return Conflict("a concurrent change got there first; read again and retry")
    if isinstance(exc, (psycopg.OperationalError, psycopg.errors.AdminShutdown)):
        return ServiceUnavailable(f"database unavailable: {exc}")
    if isinstance(exc, PoolTimeout):
        return ServiceUnavailable("database busy: no connection free in time")
    return None
