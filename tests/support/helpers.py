"""Small helpers the test levels share."""

import json
import time
import urllib.request

import eventlet
import psycopg
from nameko.web.server import WebServer
from psycopg.rows import dict_row


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
