"""Connection pools and the typed errors a caller sees for a database failure."""

import eventlet
import psycopg
import psycopg.errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import Conflict, ServiceUnavailable, ValidationError


def make_pool(url, *, max_size, name, min_size=1, timeout=10.0, configure=None):
    """A pool of autocommit connections with dict rows. ``url`` may name several hosts
    (``postgresql://a:5432,b:5432/db?target_session_attrs=read-write``): libpq tries them in turn
    and keeps the first that has the attributes asked for, so a connection made after a failover
    reaches whichever server is primary now. A connection that broke is thrown away when it comes
    back (``Session.close``), and the pool's idle ones are checked then too (``check_soon``).
    ``configure(conn)`` runs on each new connection."""
    return ConnectionPool(
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
        except Exception:  # a pool closing as the service stops; nothing to weed then
            pass
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
