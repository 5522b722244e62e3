"""The outbox relay: publishes committed events, in order per aggregate, with publisher confirms.

Rows are written by ``Session.publish`` in the transaction of the change they announce. The relay
reads unpublished rows in id order and publishes them on one channel in confirm mode with the
``mandatory`` flag, pipelined: every aggregate may have one event unconfirmed at a time, so the
events of different aggregates travel together while an aggregate's next event leaves only once
the broker has confirmed the one before it. Whatever happens to an event, no later event of its
aggregate can overtake it:

- *confirmed*: marked published;
- *returned* (no queue is bound for its type: nobody subscribes to it): marked published with
  ``unrouted`` set and counted per event type (``alliance_outbox_unrouted_total``). It is a fact
  that nobody listened to, not a failure: never retried, never blocking its aggregate. A
  subscriber gets the events published after its queue exists (docs/CONTRACT.md, "Events");
- *nacked* by the broker: retried with exponential backoff; while it waits, the later events of
  its aggregate wait behind it — those already read in the same pass are left unpublished;
- *broker unreachable*: nothing is marked; the relay reconnects at once and then every
  ``OUTBOX_RECONNECT_MAX`` seconds at most, and sends again. A batch whose confirms were lost is
  sent twice; consumers dedupe by event id.

Only one relay per database publishes at a time: it holds a PostgreSQL advisory lock, so two
instances of a service never interleave one aggregate's events. ``status()`` says whether this
relay is publishing, standing by, or cannot publish (readiness reports it).
"""

import collections
import itertools
import time

import eventlet
import psycopg
import structlog
from amqp import Message
from kombu import Connection
from psycopg.rows import dict_row

from ..messaging import connect_retries
from ..metrics import metrics_of
from . import CHANNEL

log = structlog.get_logger("alliance.outbox")

RELAY_LOCK_KEY = 0x616C6C69  # "alli": one relay per service database

# Rows ready to go, in id order, except those behind an earlier row of their aggregate that is
# backing off. The blocked aggregates are computed once per batch (MATERIALIZED): as a correlated
# NOT EXISTS the planner probed the whole backlog for every candidate row, which cost seconds per
# batch on a large backlog.
_SELECT_BATCH = """
WITH blocked AS MATERIALIZED (
    SELECT aggregate_id, min(id) AS first_id
    FROM outbox
    WHERE published_at IS NULL AND next_attempt_at > now()
    GROUP BY aggregate_id)
SELECT o.id, replace(o.event_id::text, '-', '') AS message_id, o.event_type, o.aggregate_id, o.body,
       extract(epoch FROM clock_timestamp() - o.created_at)::float8 AS waited
FROM outbox o
WHERE o.published_at IS NULL
  AND o.id > %s
  AND o.next_attempt_at <= now()
  AND NOT EXISTS (SELECT 1 FROM blocked b WHERE b.aggregate_id = o.aggregate_id AND b.first_id < o.id)
ORDER BY o.id
LIMIT %s
"""

_MARK_PUBLISHED = (
    "UPDATE outbox SET published_at = now(), unrouted = s.unrouted, last_error = NULL"
    " FROM unnest(%s::bigint[], %s::boolean[]) AS s(id, unrouted) WHERE outbox.id = s.id"
)
_MARK_FAILED = (
    "UPDATE outbox SET attempts = attempts + 1, last_error = failure.reason,"
    " next_attempt_at = now() + make_interval(secs => least(%s, 0.5 * 2 ^ outbox.attempts))"
    " FROM unnest(%s::bigint[], %s::text[]) AS failure(id, reason) WHERE outbox.id = failure.id"
)

UNROUTED = "unrouted"

# The relay's statements are prepared (psycopg does so from their sixth run) and their generic plans
# kept for the connection's life. Planned while the outbox is a few rows, they scan it whole (a seq
# scan is the cheapest plan for one page) and keep scanning it as it grows, until an ANALYZE
# invalidates them — which never comes where autovacuum is off or slow: on this machine the marks'
# UPDATE grew from 0.4 to 1.2 ms of the server's CPU per event over 9,000 events. So the relay
# plans again (psycopg deallocates and prepares again) each time the outbox's highest id has grown
# this many times since its plans were made: a handful of times in a database's life, since plans
# made on an outbox of some pages use its indexes whatever its size.
REPLAN_GROWTH = 4


def _no_blocked_poll_per_publish(connection):
    """py-amqp reads the socket before every ``basic_publish`` (``drain_events(timeout=0)``) when
    the broker may send ``connection.blocked``: a third of the relay's time in a burst went there.
    The relay reads the socket anyway while it waits for its batch's confirms — where a
    ``connection.blocked`` is handled all the same — so that per-message poll is turned off for this
    connection only (the capability was negotiated at the handshake and stays on with the broker)."""
    properties = dict(connection.client_properties)
    properties["capabilities"] = {**properties.get("capabilities", {}), "connection.blocked": False}
    connection.client_properties = properties


class OutboxRelay:
    def __init__(self, service, config, container):
        self.service = service
        self.container = container
        self.database_url = config["DATABASE_URL"]
        self.amqp_uri = config["AMQP_URI"]
        self.exchange = f"{service}.events"
        self.batch_size = int(config.get("OUTBOX_BATCH_SIZE", 2500))
        self.poll_interval = float(config.get("OUTBOX_POLL_INTERVAL", 0.5))
        self.gather = float(config.get("OUTBOX_GATHER_SECONDS", 0.005))
        self.max_backoff = float(config.get("OUTBOX_MAX_BACKOFF", 300))
        self.reconnect_max = float(config.get("OUTBOX_RECONNECT_MAX", 1.0))
        self.confirm_timeout = float(config.get("OUTBOX_CONFIRM_TIMEOUT", 30))
        self.metrics = metrics_of(container)
        self._stopping = False
        self._thread = None
        self._db = None
        self._amqp = None
        self._channel = None
        self._leader = False
        self._published = 0  # events the last pass settled
        self._planned_upto = 0  # the outbox's highest id seen when the statements were last planned
        self._state, self._problem, self._since = "starting", None, time.time()

    # lifecycle -------------------------------------------------------------------------------

    def start(self):
        self._stopping = False
        self._thread = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        # The loop notices within one poll interval; the batch in flight is finished, not cut.
        self._stopping = True
        if self._thread is not None:
            self._thread.wait()
            self._thread = None

    def status(self):
        """``{"state": "publishing" | "standby" | "starting" | "cannot publish", ...}``."""
        status = {"state": self._state, "since": round(self._since, 3)}
        if self._problem:
            status["error"] = self._problem
        return status

    @property
    def can_publish(self):
        return self._state != "cannot publish"

    def _set_state(self, state, problem=None):
        if state != self._state or problem != self._problem:
            self._state, self._problem, self._since = state, problem, time.time()

    def _run(self):
        # Nothing may escape this loop: an exception in a managed thread kills the container.
        failures = 0
        while not self._stopping:
            try:
                self._turn()
                if failures:
                    log.info("outbox relay back", service=self.service, failures=failures)
                failures = 0
                self._pause()
            except Exception as exc:
                failures += 1
                self._set_state("cannot publish", str(exc) or type(exc).__name__)
                # Once per outage, not once per attempt: readiness says it for as long as it lasts.
                (log.warning if failures == 1 else log.debug)(
                    "outbox relay interrupted; will retry", error=str(exc), failures=failures
                )
                self._disconnect()
                # Short and capped: a connection attempt costs nothing next to events waiting
                # minutes for a relay asleep in a long backoff after the broker came back.
                eventlet.sleep(min(self.reconnect_max, 0.1 * 2**failures))
        self._disconnect()

    def _turn(self):
        """Publish what is ready, if this relay holds the lease."""
        self._published = 0
        if not self._hold_lease():
            self._set_state("standby")
            return
        # Every commit that has notified so far is visible to the drain that follows (a commit
        # notifies once it is done), so its notification is spent here. Left pending, the ones
        # that came during the last gather, or with the one that woke the relay, were taken after
        # the drain for commits made *while* it drained: once a stream had started, every pass
        # then waited a gather, even when nothing had come in the meantime (a stream of 200
        # commits/s spent 11 of its 16 ms from commit to consumer there).
        self._commits_meanwhile()
        self._published = self.drain()
        self._set_state("publishing")

    def _pause(self):
        """Between passes. ``drain()`` returned once a batch came back short: nothing else was
        ready. If commits notified while it drained (psycopg keeps notifications that arrive
        during other statements) and that pass had several events to publish, the commits are
        coming faster than a pass takes: the relay waits ``OUTBOX_GATHER_SECONDS`` (5 ms) for the
        next ones to join the batch, which divides its round trips per event. A pass of one event
        keeps up with them: the next goes at once. With no commit meanwhile it waits for one and
        drains at once when it wakes: a quiet system's events, and a stream's that each pass keeps
        up with, leave in milliseconds, not after a gathering window."""
        if self._commits_meanwhile():
            if self.gather and self._published > 1:
                eventlet.sleep(self.gather)
        else:
            self._wait_for_commits(self.poll_interval)

    def _wait_for_commits(self, seconds):
        """Wait for a commit that wrote events (NOTIFY from ``Session.publish``), or ``seconds``;
        True if a commit woke it."""
        if self._db is None:
            eventlet.sleep(seconds)
            return False
        woken = False
        for _ in self._db.notifies(timeout=seconds, stop_after=1):
            woken = True
        return woken

    def _commits_meanwhile(self):
        """Whether commits notified since the last wait (all such notifications are consumed)."""
        if self._db is None:
            return False
        return sum(1 for _ in self._db.notifies(timeout=0)) > 0

    # connections -----------------------------------------------------------------------------

    def _hold_lease(self):
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row, connect_timeout=5)
            self._db.execute(f"LISTEN {CHANNEL}")
            self._leader = False
            self._planned_upto = 0  # a new connection plans afresh
        if not self._leader:
            lease = self._db.execute("SELECT pg_try_advisory_lock(%s) AS leader", (RELAY_LOCK_KEY,)).fetchone()
            self._leader = lease["leader"]
            if self._leader:
                log.info("outbox relay is the publisher for this database", service=self.service)
        return self._leader

    def _broker_channel(self):
        if self._channel is None:
            # AMQP_URI may name several nodes ("amqp://a;amqp://b"): each is tried once, in the
            # order given, before this attempt counts as failed.
            self._amqp = Connection(self.amqp_uri, heartbeat=0, connect_timeout=5)
            self._amqp.ensure_connection(max_retries=connect_retries(self.amqp_uri))
            _no_blocked_poll_per_publish(self._amqp.connection)
            channel = self._amqp.channel()
            channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._channel = channel
            # Delivery tags restart at 1 on a new channel; nothing from the old one can be settled.
            self._next_tag = 1
            self._pending, self._returned = {}, {}
        return self._channel

    def _disconnect(self):
        for closeable in (self._amqp, self._db):
            if closeable is not None:
                try:
                    closeable.close()
                except Exception as exc:  # already broken; closing is best effort
                    log.debug("closing a broken connection failed", error=str(exc))
        self._amqp = self._channel = self._db = None

    # publishing ------------------------------------------------------------------------------

    def drain(self):
        """Publish everything ready; returns how many rows were settled.

        Reads batch N+1 and sends it while the broker still confirms batch N, so the database round
        trips overlap the broker's confirm latency; a cursor keeps rows in flight from being read
        twice. A row whose aggregate already has an event unconfirmed waits in that aggregate's
        chain and leaves when the broker confirms its predecessor.
        """
        self._broker_channel()
        self._chains = {}  # aggregate -> rows waiting behind its unconfirmed event
        self._stopped = set()  # aggregates with a failed event: nothing more of theirs this pass
        self._ready = []  # rows free to send now
        self._done = []  # (row, outcome) confirmed, returned or failed; not yet written
        self._open_by_batch = collections.Counter()  # unsettled rows per batch number
        handled, cursor, more = 0, 0, True
        for batch in itertools.count():
            rows = []
            if more and not self._stopping:
                rows = self._db.execute(_SELECT_BATCH, (cursor, self.batch_size)).fetchall()
            more = len(rows) == self.batch_size  # a short batch: nothing else was ready
            if rows:
                cursor = rows[-1]["id"]
                self._plan_again_if_grown(cursor)
                waited = self.metrics.outbox_wait.labels(self.service)
                for row in rows:
                    waited.observe(row["waited"])
                self._take(rows, batch)
            self._send_ready()
            # What the broker settled so far is marked while it confirms what was just sent (as a
            # last step, the UPDATE had the broker idle: 16 ms per 1,000 rows here).
            handled += self._write_outcomes()
            # Pipelined one batch deep: wait for the batch before this one (for everything, at the end).
            settled_upto = batch - 1 if rows else batch
            self._send_and_wait(lambda upto=settled_upto: all(self._open_by_batch[b] == 0 for b in range(upto + 1)))
            if not rows:
                return handled + self._write_outcomes()

    def _plan_again_if_grown(self, highest_id):
        if not self._planned_upto:
            self._planned_upto = highest_id  # the first batch of this connection: its plans are new
        elif highest_id >= REPLAN_GROWTH * self._planned_upto:
            # psycopg's own cache of prepared statements, which sends DEALLOCATE ALL before the next
            # statement and prepares each again from its sixth run. (A DEALLOCATE ALL of our own is
            # noticed by psycopg only the first time its text is seen: the second one left psycopg
            # naming statements the server no longer had.)
            self._db._prepared.clear()
            self._planned_upto = highest_id

    def _take(self, rows, batch):
        for row in rows:
            row["batch"] = batch
            aggregate = row["aggregate_id"]
            if aggregate in self._stopped:
                continue  # left unpublished: it waits behind its aggregate's failed event
            self._open_by_batch[batch] += 1
            if aggregate in self._chains:
                self._chains[aggregate].append(row)
            else:
                self._chains[aggregate] = collections.deque()
                self._ready.append(row)

    def _send_ready(self):
        if self._ready:
            self._publish(self._ready)
            self._ready = []

    def _send_and_wait(self, finished):
        while True:
            self._send_ready()
            if finished():
                return
            if not self._pending:  # every unsettled row is sent or chained behind a sent one
                raise RuntimeError("outbox relay: rows unsettled with nothing awaiting a confirm")
            self._amqp.drain_events(timeout=self.confirm_timeout)
            self._read_arrived()

    def _read_arrived(self):
        """Every confirm that has arrived already, besides the one just read, without waiting: the
        successors they free leave in one burst, instead of one or two per confirm read. Sent one
        by one, the chains' events came back confirmed one by one too — a frame read and a send
        per event — and a burst over 100 aggregates drained at half the raw publishing rate."""
        connection = self._channel.connection  # the amqp connection itself: kombu's would reconnect
        for _ in range(self.batch_size):  # bounded: never spins, whatever the broker sends
            try:
                connection.drain_events(timeout=0)
            except TimeoutError:
                return

    def _publish(self, rows):
        channel = self._channel
        for row in rows:
            message = Message(
                row["body"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=row["message_id"],
                # No headers: the envelope carries the correlation id, and an AMQP header table
                # costs more to encode than the rest of the message.
            )
            channel.basic_publish(message, exchange=self.exchange, routing_key=row["event_type"], mandatory=True)
            self._pending[self._next_tag] = row
            self._next_tag += 1

    def _on_ack(self, delivery_tag, multiple):
        for row in self._settled_rows(delivery_tag, multiple):
            self._finish(row, self._returned.pop(row["message_id"], None))

    def _on_nack(self, delivery_tag, multiple):
        for row in self._settled_rows(delivery_tag, multiple):
            self._returned.pop(row["message_id"], None)
            self._finish(row, "nacked by the broker")

    def _settled_rows(self, delivery_tag, multiple):
        # Pending tags are ascending in publishing order, so a multiple ack settles a prefix.
        tags = list(itertools.takewhile(lambda t: t <= delivery_tag, self._pending)) if multiple else [delivery_tag]
        return [row for row in (self._pending.pop(tag, None) for tag in tags) if row is not None]

    def _on_return(self, exc, exchange, routing_key, message):
        # The broker returns an unroutable message before it confirms it.
        self._returned[message.properties.get("message_id")] = UNROUTED

    def _finish(self, row, outcome):
        """``outcome``: None (delivered to a queue), ``UNROUTED``, or the reason it failed."""
        self._done.append((row, outcome))
        self._open_by_batch[row["batch"]] -= 1
        aggregate = row["aggregate_id"]
        chain = self._chains.pop(aggregate, collections.deque())
        if outcome in (None, UNROUTED):
            if chain:
                self._ready.append(chain.popleft())
                self._chains[aggregate] = chain
            return
        # Failed: the events behind it stay unpublished and are read again after its backoff.
        self._stopped.add(aggregate)
        for waiting in chain:
            self._open_by_batch[waiting["batch"]] -= 1

    def _write_outcomes(self):
        done, self._done = self._done, []
        published = [(row, outcome == UNROUTED) for row, outcome in done if outcome in (None, UNROUTED)]
        failed = [(row, outcome) for row, outcome in done if outcome not in (None, UNROUTED)]
        if published:
            self._db.execute(
                _MARK_PUBLISHED, ([row["id"] for row, _ in published], [unrouted for _, unrouted in published])
            )
            unrouted = collections.Counter(row["event_type"] for row, flag in published if flag)
            for event_type, count in unrouted.items():
                self.metrics.outbox_unrouted.labels(self.service, event_type).inc(count)
            if unrouted:
                log.debug("events published that no queue was bound for", events=dict(unrouted))
        if failed:
            self._db.execute(
                _MARK_FAILED, (self.max_backoff, [row["id"] for row, _ in failed], [reason for _, reason in failed])
            )
            reasons = collections.Counter(f"{row['event_type']}: {reason}" for row, reason in failed)
            log.error("outbox events refused by the broker; will retry", failures=dict(reasons))
        return len(done)
