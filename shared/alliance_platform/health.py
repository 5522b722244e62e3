"""Liveness and readiness over HTTP, with the figures an operator looks at first.

``GET /health/live`` answers 200 while the process runs its event loop. ``GET /health/ready``
answers 200 only when the service's database and broker both answer and its outbox relay can
publish (it is publishing, or standing by while another instance publishes), and reports the
outbox backlog and the number of dead letters waiting for an operator; otherwise 503 with the
reason.
"""

import json
import time

from amqp.exceptions import NotFound as QueueNotFound
from kombu import Connection

from .messaging import connect_retries, dead_letter_queue


class HealthCheck:
    def __init__(self, config, service, session, relay=None):
        self.config = config
        self.service = service
        self.session = session  # None: a process without a database of its own (the gateway)
        self.relay = relay

    def ready(self):
        report = {"service": self.service, "checked_at": time.time()}
        ok = self.session is None or self._database(report)
        try:
            with Connection(self.config["AMQP_URI"], connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=connect_retries(self.config["AMQP_URI"]))
                report["dead_letters"] = self._dead_letters(conn)
            report["broker"] = "ok"
        except Exception as exc:
            ok = False
            report["broker"] = f"unavailable: {exc}"
        if self.relay is not None:
            report["relay"] = self.relay.status()
            ok = ok and self.relay.can_publish
        return ok, report

    def _database(self, report):
        try:
            self.session.acquire(timeout=2)
            row = self.session.fetchone(
                "SELECT count(*) AS backlog,"
                " count(*) FILTER (WHERE last_error IS NOT NULL) AS failing,"
                " extract(epoch FROM now() - min(created_at)) AS oldest_s"
                " FROM outbox WHERE published_at IS NULL"
            )
        except Exception as exc:
            report["database"] = f"unavailable: {exc}"
            return False
        report["database"] = "ok"
        report["outbox"] = {
            "backlog": row["backlog"],
            "failing": row["failing"],
            "oldest_seconds": round(float(row["oldest_s"] or 0), 1),
        }
        return True

    def _dead_letters(self, conn):
        try:
            return dead_letter_queue(self.service)(conn.channel()).queue_declare(passive=True).message_count
        except QueueNotFound:
            return 0  # declared with the first event handler; a service without handlers has none


def json_response(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False)
