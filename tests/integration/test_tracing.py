"""One correlation id follows a request across RPC calls and events, on every log line."""

import io
import json

import pytest
from nameko.testing.services import entrypoint_waiter

from alliance_platform import logs
from tests.support.probe import ProbeConsumer, ProbeService


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    logs.configure(fmt="json", level="INFO", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logs.configure(fmt="console", level="WARNING")


def test_the_callers_correlation_id_reaches_the_event_handler_and_its_logs(
    container_factory, service_config, client, log_lines
):
    producer = container_factory(ProbeService, service_config("probe", kind="probe"))
    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    consumer.start()
    producer.start()
    with entrypoint_waiter(consumer, "handle_probe_item_recorded"), client(correlation_id="trace-me") as alliance:
        alliance.probe.record_item(item_id="traced")

    handled = {
        (line.get("service"), line.get("entrypoint")): line for line in log_lines() if line["event"] == "call handled"
    }
    rpc_line = handled[("probe", "record_item")]
    event_line = handled[("probe_consumer", "handle_probe_item_recorded")]
    for line in (rpc_line, event_line):
        assert line["correlation_id"] == "trace-me"
        assert line["call_id"].startswith(f"{line['service']}.{line['entrypoint']}.")
    assert rpc_line["caller"] == "staff:admin-1"
    assert all("eyJ" not in json.dumps(line) for line in log_lines()), "tokens never reach the log"
