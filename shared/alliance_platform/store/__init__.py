"""The store: PostgreSQL pools (``pool``), the unit of work (``session``) and the waits that yield
to the eventlet hub (``green``, installed by whoever runs a service, not by importing this)."""

from .pool import make_pool, translate_db_error
from .session import Database, Session, relay_of, transaction

__all__ = ["Database", "Session", "make_pool", "relay_of", "transaction", "translate_db_error"]
