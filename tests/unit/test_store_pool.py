"""The database pool's reconnection: psycopg_pool's, its waits capped (store/pool.py)."""

import inspect

from psycopg_pool import ConnectionPool

from alliance_platform.store import make_pool
from alliance_platform.store.pool import RECONNECT_MAX_DELAY, _CappedBackoff, _Pool


def test_reconnection_attempts_never_wait_longer_than_the_cap():
    attempt = _CappedBackoff(timeout=300)
    delays = []
    for step in range(12):
        attempt.update_delay(now=float(step))
        delays.append(attempt.delay)
    assert max(delays) <= RECONNECT_MAX_DELAY
    assert delays[0] > 0


def test_the_pool_overrides_the_method_psycopg_pool_starts_a_replacement_with():
    # _add_connection is psycopg_pool's own: if an upgrade renames it or changes its arguments,
    # the cap silently stops applying — this test says so instead.
    ours = inspect.signature(_Pool._add_connection)
    theirs = inspect.signature(ConnectionPool._add_connection)
    assert list(ours.parameters) == list(theirs.parameters)
    assert "AttemptWithBackoff(timeout=self.reconnect_timeout)" in inspect.getsource(ConnectionPool._add_connection)
    assert isinstance(make_pool("postgresql://nobody@127.0.0.1:1/none", max_size=1, name="t"), _Pool)
