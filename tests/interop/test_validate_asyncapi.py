"""`validate-asyncapi.mjs`, the AsyncAPI parser's verdict on a document: a valid one passes, one the
specification refuses fails with the parser's diagnostics."""

import subprocess

import pytest

from tests.interop.test_node_client import HERE, node

pytestmark = pytest.mark.slow

VALID = """\
asyncapi: 3.0.0
info:
  title: a source of events
  version: 1.0.0
channels:
  ticket_submitted:
    address: ticket_submitted
    messages:
      ticket_submitted:
        payload:
          type: object
          required: [event_id]
          properties:
            event_id: {type: string}
operations:
  receive_ticket_submitted:
    action: receive
    channel: {$ref: '#/channels/ticket_submitted'}
"""


def validate(path):
    return subprocess.run(
        [node(), HERE / "validate-asyncapi.mjs", path], capture_output=True, text=True, timeout=60, cwd=HERE
    )


def test_a_valid_document_passes(tmp_path):
    document = tmp_path / "asyncapi.yaml"
    document.write_text(VALID)
    done = validate(document)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid AsyncAPI 3.0.0" in done.stdout


def test_a_document_the_specification_refuses_fails_with_its_diagnostics(tmp_path):
    document = tmp_path / "asyncapi.yaml"
    # An operation must say whether it sends or receives; "publish" was AsyncAPI 2's word.
    document.write_text(VALID.replace("action: receive", "action: publish").replace("  version: 1.0.0\n", ""))
    done = validate(document)
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if ": error: " in line]
    assert any("version" in line and "info" in line for line in errors), done.stdout
    assert any("action" in line for line in errors), done.stdout


def test_the_contracts_asyncapi_document_is_valid():
    """docs/contract/asyncapi.yaml, as `alliance contract --write` generates it, passes the parser."""
    document = HERE.parents[1] / "docs" / "contract" / "asyncapi.yaml"
    result = validate(document)
    assert result.returncode == 0, result.stdout + result.stderr
