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

import eventlet
import psycopg
import structlog
from amqp import Message
from kombu import Connection
from psycopg.rows import dict_row

from .db import OUTBOX_CHANNEL

log = structlog.get_logger("alliance.outbox")

RELAY_LOCK_KEY = 0x616C6C69  # "alli": one relay per service database
RETENTION = "7 days"
PURGE_EVERY = 600  # batches between purges of published rows older than RETENTION

_SELECT_BATCH = """
SELECT o.id, o.event_id, o.event_type, o.aggregate_id, o.correlation_id, o.body, o.attempts
FROM outbox o
WHERE o.published_at IS NULL
  AND o.next_attempt_at <= now()
  AND NOT EXISTS (
      SELECT 1 FROM outbox earlier
      WHERE earlier.published_at IS NULL
        AND earlier.aggregate_id = o.aggregate_id
        AND earlier.id < o.id
        AND earlier.next_attempt_at > now())
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
        self.max_backoff = float(config.get("OUTBOX_MAX_BACKOFF", 60))
        self._stopping = False
        self._thread = None
        self._db = None
        self._amqp = None
        self._channel = None
        self._batches = 0

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
        failures = 0
        while not self._stopping:
            try:
                published = self.drain_once() if self._hold_lease() else 0
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("outbox relay interrupted; will retry", error=str(exc), failures=failures)
                self._disconnect()
                published = 0
                eventlet.sleep(min(self.max_backoff, 0.2 * 2**failures))
                continue
            if published == 0:
                self._wait_for_commits(self.poll_interval)
        self._disconnect()

    def _wait_for_commits(self, seconds):
        """Wait for a commit that wrote events (NOTIFY from ``Session.publish``), or ``seconds``."""
        for _ in self._db.notifies(timeout=seconds, stop_after=1):
            pass

    # connections -----------------------------------------------------------------------------

    def _hold_lease(self):
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row)
            self._db.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self._leader = False
        if not self._leader:
            self._leader = self._db.execute("SELECT pg_try_advisory_lock(%s) AS leader", (RELAY_LOCK_KEY,)).fetchone()[
                "leader"
            ]
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
            self._next_tag = 1
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

    def drain_once(self):
        """Publish one batch; returns how many rows were handled (sent or deferred)."""
        rows = self._db.execute(_SELECT_BATCH, (self.batch_size,)).fetchall()
        if not rows:
            return 0
        channel = self._broker_channel()
        self._pending = {}
        self._failed = {}
        self._returned = {}
        tags = {}
        for row in rows:
            event_id = row["event_id"].hex
            message = Message(
                row["body"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=event_id,
                application_headers={"nameko.correlation_id": row["correlation_id"]},
            )
            channel.basic_publish(message, exchange=self.exchange, routing_key=row["event_type"], mandatory=True)
            tags[event_id] = self._next_tag
            self._pending[self._next_tag] = row
            self._next_tag += 1
        while self._pending:
            self._amqp.drain_events(timeout=30)
        sent, failed = [], []
        for row in rows:
            event_id = row["event_id"].hex
            reason = self._returned.get(event_id) or self._failed.get(tags[event_id])
            if reason:
                failed.append((row, reason))
            else:
                sent.append(row["id"])
        if sent:
            self._db.execute("UPDATE outbox SET published_at = now(), last_error = NULL WHERE id = ANY(%s)", (sent,))
        for row, reason in failed:
            delay = min(self.max_backoff, 0.5 * 2 ** row["attempts"])
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = %s,"
                " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
                (reason, delay, row["id"]),
            )
            log.error(
                "outbox event not delivered; will retry", event_type=row["event_type"], reason=reason, retry_in_s=delay
            )
        self._batches += 1
        if self._batches % PURGE_EVERY == 0:
            self._db.execute(f"DELETE FROM outbox WHERE published_at < now() - interval '{RETENTION}'")
        return len(rows)

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, "nacked by the broker")

    def _settle(self, delivery_tag, multiple, failure):
        tags = [t for t in self._pending if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            if self._pending.pop(tag, None) is not None and failure:
                self._failed[tag] = failure

    def _on_return(self, exc, exchange, routing_key, message):
        # The broker returns an unroutable message before it confirms it.
        self._returned[message.properties.get("message_id")] = (
            f"unroutable: no queue bound to {exchange} for {routing_key} ({exc})"
        )
