"""A client in another language, written from docs/contract/WIRE.md alone (tests/interop/client.mjs,
Node.js and amqplib), against the four services running as real processes. The test only hands it
the broker's address and a token an operator would issue with `alliance token`, then checks its
report of what the wire answered, and the databases behind it."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.helpers import query

HERE = Path(__file__).parent
CLIENT = HERE / "client.mjs"

pytestmark = pytest.mark.slow


def node():
    path = shutil.which("node")
    assert path, "node is not installed: scripts/bootstrap.sh installs it (Debian: apt-get install nodejs npm)"
    installed = (HERE / "node_modules" / "amqplib").is_dir()
    assert installed, "tests/interop's packages are missing: scripts/bootstrap.sh installs them"
    return path


def operator_token(*args):
    """A token as an operator issues one: `alliance token ...`, with this test's configuration."""
    alliance = Path(sys.executable).with_name("alliance")
    done = subprocess.run([alliance, "token", *args], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_a_node_client_calls_every_service_and_consumes_an_event(system, rabbit_config):
    _, databases, _ = system
    token = operator_token("--kind", "system", "--subject", "interop-client", "--role", "system", "--district", "*")
    run = uuid.uuid4().hex[:12]
    env = {
        **os.environ,
        "INTEROP_AMQP_URL": rabbit_config["AMQP_URI"],
        "INTEROP_SYSTEM_TOKEN": token,
        "INTEROP_RUN_ID": run,
    }
    done = subprocess.run([node(), CLIENT], env=env, cwd=HERE, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)

    # What cannot be carried out is answered, or returned by the broker, as WIRE.md says.
    assert report["unknown_method"] == {
        "refused": True,
        "type": "MethodNotFound",
        "path": "nameko.exceptions.MethodNotFound",
        "text": "no_such_method",
    }
    assert report["unknown_service"] == {
        "refused": True,
        "type": "NoSuchService",
        "reply_code": 312,
        "reply_text": "NO_ROUTE",
    }
    assert report["unauthenticated"]["type"] == "Unauthenticated"
    assert report["oversized"]["type"] == "ValidationError"
    assert list(report["oversized"]["fields"]) == ["_message"]

    # registry: a query and two commands.
    assert sorted(report["districts"]) == ["aodele", "outlets", "wholesale_city"]
    merchant = report["merchant"]
    assert merchant["owner_id"] == report["person"]["person_id"]
    assert merchant["district_id"] == "wholesale_city"

    # A bad input names its fields; a call outside the caller's roles is Forbidden.
    validation = report["validation"]
    assert (validation["type"], validation["path"]) == ("ValidationError", "alliance_platform.errors.ValidationError")
    assert set(validation["fields"]) == {"category", "title"}
    assert all(isinstance(m, str) for messages in validation["fields"].values() for m in messages)
    assert (report["forbidden"]["type"], report["forbidden"]["path"]) == (
        "Forbidden",
        "alliance_platform.errors.Forbidden",
    )

    # The command sent twice under one request id was carried out once: the same answer twice,
    # one ticket in the database; the same id for other arguments is a Conflict.
    submitted = report["submitted"]
    assert report["retried"] == submitted
    assert report["reused_with_other_arguments"]["type"] == "Conflict"
    [row] = query(
        databases["tickets"], "SELECT count(*) AS n FROM tickets WHERE merchant_id = %s", (merchant["merchant_id"],)
    )
    assert row["n"] == 1
    assert report["ticket"]["ticket_id"] == submitted["ticket_id"]
    assert report["ticket"]["status"] == "submitted"

    # events and notifications: a command and a query each.
    assert report["activity"]["status"] == "draft"
    assert report["sent"]["recipients"] == 1
    assert report["delivery"]["event_id"] == report["sent"]["event_id"]
    [row] = query(
        databases["notifications"],
        "SELECT count(*) AS n FROM deliveries WHERE channel = 'inbox' AND recipient = %s",
        (f"person:{report['person']['person_id']}",),
    )
    assert row["n"] == 1

    # The event the submission caused reached the client's own queue, carrying the client's
    # correlation id and identity, and was acked: nothing was left in the queue.
    [event] = report["events"]
    assert event["event_type"] == "ticket_submitted"
    assert event["source"] == "tickets"
    assert event["aggregate_id"] == event["payload"]["ticket_id"] == submitted["ticket_id"]
    assert event["correlation_id"] == report["correlation_id"] == f"interop-{run}"
    assert event["actor"] == "system:interop-client"
    assert event["redelivered"] is False
    assert report["left_in_queue"] == 0
