"""Connection pools and the typed errors a caller sees for a database failure."""

import psycopg
import psycopg.errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import Conflict, ServiceUnavailable, ValidationError


def make_pool(url, *, max_size, name, min_size=1, timeout=10.0):
    return ConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        # Sessions say BEGIN themselves, queued with their first statement (see ``Session``).
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        name=name,
        timeout=timeout,
    )


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
