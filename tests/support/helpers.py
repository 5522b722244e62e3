"""Small helpers the test levels share."""

import json
import os
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import eventlet
import psycopg
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter
from nameko.web.server import WebServer
from psycopg.rows import dict_row

import alliance_contracts as contracts
from alliance_platform.config import platform_defaults

# The servers every test level uses: the variables the services and scripts/infra.py read, with the
# same defaults (shared/alliance_platform/defaults.yaml; PG_ADMIN_URL's is scripts/infra.py's).
AMQP_URI = platform_defaults()["AMQP_URI"]
RABBIT_MANAGEMENT_URI = platform_defaults()["RABBIT_MANAGEMENT_URI"]
PG_ADMIN_URL = os.environ.get("PG_ADMIN_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def database_url(name):
    """The URL of database ``name`` on the PostgreSQL server PG_ADMIN_URL names."""
    return urlunsplit(urlsplit(PG_ADMIN_URL)._replace(path=f"/{name}"))


def http_port(container):
    """The port a started container's web server is bound to (tests bind to port 0)."""
    for extension in container.subextensions:
        if isinstance(extension, WebServer):
            return extension._sock.getsockname()[1]
    raise LookupError(f"{container.service_name} has no web server")


def get_json(url, timeout=5):
    """(status, body) of a GET that returns JSON, including error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def query(database_url, sql, params=None):
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(condition, timeout=15.0, interval=0.02, message="condition"):
    """Poll ``condition`` (work done by other greenthreads or processes) until it returns truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        eventlet.sleep(interval)


def envelope(source, event_type, payload, event_id=None, correlation_id="test"):
    """The envelope ``source``'s outbox would publish for ``payload`` (checked by its contract)."""
    return contracts.build_envelope(
        source=source,
        event_type=event_type,
        version=1,
        payload=payload,
        event_id=event_id or uuid.uuid4().hex,
        occurred_at=datetime.now(UTC),
        correlation_id=correlation_id,
        aggregate_id="test",
        actor=None,
    )


def publish(amqp_uri, source, event_type, body):
    """Publish ``body`` (an envelope, or anything, to test rejection) as ``source``'s event."""
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(
            body,
            exchange=Exchange(f"{source}.events", type="topic", durable=True),
            routing_key=event_type,
            serializer="json",
        )


def deliver(container, handler, source, event_type, payload):
    """Publish an event to ``container``'s ``handler`` and wait until it has been handled; returns
    what the handler returned (raises what it raised)."""
    with entrypoint_waiter(container, handler) as result:
        publish(container.config["AMQP_URI"], source, event_type, envelope(source, event_type, payload))
    return result.get()
