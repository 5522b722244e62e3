"""Delegation: the tokens an internal system obtained for the people it acts for, and their end.

An internal system registered in the registry (docs/contract/DELEGATION.md) exchanges its credential
for short-lived tokens of a merchant or a staff member: the token's ``act`` claim names the system,
``dlg`` its registration (``Identity.actor`` / ``Identity.delegation``). Such a token must stop
working the moment an administrator revokes the registration, not when it expires. So:

- the registry publishes ``system_access_revoked`` (through its outbox, in the transaction of the
  revocation) and records the revocation in its own ``revoked_delegations`` table at once;
- every service (``AllianceService.platform_system_access_revoked``) records the event in its own
  ``revoked_delegations`` table, in the handler's transaction, and notifies ``CHANNEL``;
- every process of the service keeps the set of revoked delegations in memory
  (``RevocationWatch``: loaded at start, reloaded on each notification, which PostgreSQL delivers
  on commit to every instance sharing the database, and every ``DELEGATION_RELOAD_INTERVAL``
  seconds in case one was missed across a reconnect);
- ``Call.identity`` refuses a token whose ``dlg`` is in the set with ``Unauthenticated``, after
  the signature check (whose cache keeps a token until it expires: the revocation is checked on
  every call, a set lookup).

A delegated token arriving before the process has loaded the list once waits for it a few seconds
(``DELEGATION_LOAD_WAIT``), then is refused: never accepted unchecked. Processes without a
database (the HTTP gateway) only pass tokens on and check nothing here.
"""

import eventlet
import psycopg
import structlog
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from .errors import Unauthenticated

log = structlog.get_logger("alliance.delegation")

CHANNEL = "alliance_delegations"
_RECORD = (
    "INSERT INTO revoked_delegations (delegation_id, revoked_at) VALUES (%s, %s) ON CONFLICT (delegation_id) DO NOTHING"
)
_LOAD = "SELECT delegation_id FROM revoked_delegations"


def record_revocation(session, delegation_id, revoked_at):
    """Record in the session's transaction that ``delegation_id`` is revoked; every process of this
    service learns it when the transaction commits. Recording it twice changes nothing."""
    session.defer(_RECORD, (str(delegation_id), revoked_at))
    session.defer(f"NOTIFY {CHANNEL}")


class Revocations:
    """The revoked delegations one process knows, and the check every call makes with them."""

    def __init__(self, load_wait=5.0):
        self._revoked = frozenset()
        self._loaded = Event()
        self.load_wait = load_wait

    @property
    def loaded(self):
        return self._loaded.ready()

    def replace(self, delegation_ids):
        self._revoked = frozenset(delegation_ids)
        if not self._loaded.ready():
            self._loaded.send(True)

    def __len__(self):
        return len(self._revoked)

    def __contains__(self, delegation_id):
        return delegation_id in self._revoked

    def check(self, identity):
        """Refuse (``Unauthenticated``) a token obtained under a revoked delegation."""
        if identity.delegation is None:
            return
        if not self._loaded.ready():
            with eventlet.Timeout(self.load_wait, False):
                self._loaded.wait()
            if not self._loaded.ready():
                raise Unauthenticated("delegated tokens cannot be checked yet (revocations not loaded); try again")
        if identity.delegation in self._revoked:
            raise Unauthenticated(
                f"the delegation {identity.delegation} of system {identity.actor} was revoked by an administrator"
            )


def revocations_of(container):
    """The ``Revocations`` of a service container, or None for a process that keeps none."""
    return getattr(container, "alliance_revocations", None)


def check(container, identity):
    """``Call.identity``'s check: a verified identity whose delegation was revoked is refused."""
    revocations = revocations_of(container)
    if revocations is not None:
        revocations.check(identity)


class RevocationWatch(DependencyProvider):
    """Keeps the container's ``Revocations`` equal to its database's ``revoked_delegations``: one
    connection per process that LISTENs on ``CHANNEL`` and reloads the table when woken."""

    def setup(self):
        config = self.container.config
        self.database_url = config["DATABASE_URL"]
        self.reload_interval = float(config.get("DELEGATION_RELOAD_INTERVAL", 30))
        self.revocations = Revocations(float(config.get("DELEGATION_LOAD_WAIT", 5)))
        self.container.alliance_revocations = self.revocations
        self._stopping = False
        self._thread = None
        self._db = None

    def start(self):
        self._stopping = False
        self._thread = self.container.spawn_managed_thread(self._run, identifier="delegation-revocations")

    def stop(self):
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()  # it may be waiting up to DELEGATION_RELOAD_INTERVAL for a notification
            self._thread = None
        self._close()

    def kill(self):
        self.stop()

    def _run(self):
        # Nothing may escape this loop: an exception in a managed thread kills the container.
        failures = 0
        while not self._stopping:
            try:
                if self._db is None or self._db.closed:
                    self._db = psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)
                    self._db.execute(f"LISTEN {CHANNEL}")  # before the load: nothing committed after it is missed
                self.reload()
                if failures:
                    log.info("delegation revocations watched again", failures=failures)
                failures = 0
                for _ in self._db.notifies(timeout=self.reload_interval, stop_after=1):
                    pass
            except Exception as exc:
                failures += 1
                (log.warning if failures == 1 else log.debug)(
                    "cannot read the revoked delegations; will retry", error=str(exc), failures=failures
                )
                self._close()
                eventlet.sleep(min(1.0, 0.1 * 2**failures))

    def reload(self):
        rows = self._db.execute(_LOAD).fetchall()
        before = len(self.revocations)
        self.revocations.replace(row[0] for row in rows)
        if len(rows) != before:
            log.info("revoked delegations loaded", count=len(rows))

    def _close(self):
        if self._db is not None:
            try:
                self._db.close()
            except Exception as exc:  # already broken; closing is best effort
                log.debug("closing a broken connection failed", error=str(exc))
        self._db = None
