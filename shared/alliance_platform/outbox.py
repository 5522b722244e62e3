"""The outbox relay: publishes committed events, in order, with publisher confirms.

Rows are written by ``Session.publish`` in the transaction of the change they announce. The relay
reads unpublished rows in id order, publishes a batch on one channel in confirm mode with the
``mandatory`` flag (pipelined: it sends the whole batch, then waits for the confirms), and marks
the confirmed rows sent in one UPDATE. A row the broker returned (no queue bound) or nacked is
retried with exponential backoff, and while it waits, later rows of the same aggregate wait too,
so consumers see an aggregate's events in the order they were committed. If the broker is
unreachable nothing is marked, and the batch is sent again once it is back; consumers dedupe by
event id, so a re-send after a lost confirm has no second effect.

Only one relay per database publishes at a time: it holds a PostgreSQL advisory lock, so two
instances of a service never interleave one aggregate's events.
"""

import collections
import itertools

import eventlet
import psycopg
import structlog
from amqp import Message
from kombu import Connection
from psycopg.rows import dict_row

from .db import OUTBOX_CHANNEL

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
SELECT o.id, o.event_id, o.event_type, o.body, o.attempts
FROM outbox o
WHERE o.published_at IS NULL
  AND o.id > %s
  AND o.next_attempt_at <= now()
  AND NOT EXISTS (SELECT 1 FROM blocked b WHERE b.aggregate_id = o.aggregate_id AND b.first_id < o.id)
ORDER BY o.id
LIMIT %s
"""


class OutboxRelay:
    def __init__(self, service, config, container):
        self.service = service
        self.container = container
        self.database_url = config["DATABASE_URL"]
        self.amqp_uri = config["AMQP_URI"]
        self.exchange = f"{service}.events"
        self.batch_size = int(config.get("OUTBOX_BATCH_SIZE", 1000))
        self.poll_interval = float(config.get("OUTBOX_POLL_INTERVAL", 0.5))
        self.gather = float(config.get("OUTBOX_GATHER_SECONDS", 0.02))
        self.max_backoff = float(config.get("OUTBOX_MAX_BACKOFF", 300))
        self._stopping = False
        self._thread = None
        self._db = None
        self._amqp = None
        self._channel = None

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

    def _run(self):
        # Nothing may escape this loop: an exception in a managed thread kills the container.
        failures = 0
        while not self._stopping:
            try:
                if self._hold_lease():
                    self.drain()
                # drain() returns once a batch comes back short: nothing else was ready. Commits
                # since then have notified (psycopg keeps notifications that arrive during other
                # statements), so the wait ends at once for them. After a wake, a few milliseconds
                # more gather the commits that follow into the same batch: under a steady stream of
                # small transactions that divides the relay's round trips per event.
                if self._wait_for_commits(self.poll_interval) and self.gather:
                    eventlet.sleep(self.gather)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("outbox relay interrupted; will retry", error=str(exc), failures=failures)
                self._disconnect()
                eventlet.sleep(min(self.max_backoff, 0.2 * 2**failures))
        self._disconnect()

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

    # connections -----------------------------------------------------------------------------

    def _hold_lease(self):
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row)
            self._db.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self._leader = False
        if not self._leader:
            lease = self._db.execute("SELECT pg_try_advisory_lock(%s) AS leader", (RELAY_LOCK_KEY,)).fetchone()
            self._leader = lease["leader"]
            if self._leader:
                log.info("outbox relay is the publisher for this database", service=self.service)
        return self._leader

    def _broker_channel(self):
        if self._channel is None:
            self._amqp = Connection(self.amqp_uri, heartbeat=0)
            self._amqp.ensure_connection(max_retries=1)
            channel = self._amqp.channel()
            channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._channel = channel
            # Delivery tags restart at 1 on a new channel; nothing from the old one can be settled.
            self._next_tag = 1
            self._pending, self._failed, self._returned = {}, {}, {}
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
        """Publish everything ready, one batch ahead; returns how many rows were handled.

        While the broker confirms batch N, the relay already selects and sends batch N+1, so the
        database round trips overlap the broker's confirm latency. A cursor keeps rows in flight
        from being selected twice.
        """
        handled, cursor, in_flight, more = 0, 0, None, True
        while True:
            ready = more and not self._stopping
            rows = self._db.execute(_SELECT_BATCH, (cursor, self.batch_size)).fetchall() if ready else []
            more = len(rows) == self.batch_size  # a short batch: nothing else was ready
            sent = (rows, self._publish(rows)) if rows else None
            if in_flight is not None:
                handled += self._settle_batch(*in_flight)
            if sent is None:
                return handled
            cursor, in_flight = rows[-1]["id"], sent

    def _publish(self, rows):
        channel = self._broker_channel()
        tags = []
        for row in rows:
            message = Message(
                row["body"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=row["event_id"].hex,
                # No headers: the envelope carries the correlation id, and an AMQP header table
                # costs more to encode than the rest of the message.
            )
            channel.basic_publish(message, exchange=self.exchange, routing_key=row["event_type"], mandatory=True)
            self._pending[self._next_tag] = row
            tags.append(self._next_tag)
            self._next_tag += 1
        return tags

    def _settle_batch(self, rows, tags):
        """Wait for the batch's confirms, then mark it: sent, or failed and backing off."""
        for tag in tags:
            while tag in self._pending:
                self._amqp.drain_events(timeout=30)
        sent, failed = [], []
        for row, tag in zip(rows, tags, strict=True):
            reason = self._returned.pop(row["event_id"].hex, None) or self._failed.pop(tag, None)
            if reason:
                failed.append((row, reason))
            else:
                sent.append(row["id"])
        if sent:
            self._db.execute("UPDATE outbox SET published_at = now(), last_error = NULL WHERE id = ANY(%s)", (sent,))
        if failed:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = failure.reason,"
                " next_attempt_at = now() + make_interval(secs => least(%s, 0.5 * 2 ^ outbox.attempts))"
                " FROM unnest(%s::bigint[], %s::text[]) AS failure(id, reason) WHERE outbox.id = failure.id",
                (self.max_backoff, [row["id"] for row, _ in failed], [reason for _, reason in failed]),
            )
            # One line per batch, not per event: a type nobody subscribes to yet is held by the
            # hundred, and its rows are retried until a consumer declares its queue.
            reasons = collections.Counter(f"{row['event_type']}: {reason}" for row, reason in failed)
            log.error("outbox events not delivered; will retry", failures=dict(reasons))
        return len(rows)

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, "nacked by the broker")

    def _settle(self, delivery_tag, multiple, failure):
        # Pending tags are ascending in insertion order, so a multiple ack settles a prefix.
        tags = list(itertools.takewhile(lambda t: t <= delivery_tag, self._pending)) if multiple else [delivery_tag]
        for tag in tags:
            if self._pending.pop(tag, None) is not None and failure:
                self._failed[tag] = failure

    def _on_return(self, exc, exchange, routing_key, message):
        # The broker returns an unroutable message before it confirms it.
        self._returned[message.properties.get("message_id")] = (
            f"unroutable: no queue bound to {exchange} for {routing_key} ({exc})"
        )
