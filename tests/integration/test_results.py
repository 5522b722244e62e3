"""Results are declared like inputs: a method returns what its result schema dumps, and in test
runs a result its schema refuses is an error — the contract cannot drift from the code."""

import pytest
from nameko.exceptions import RemoteError


def test_a_result_is_what_its_schema_dumps(probe, client):
    with client() as alliance:
        alliance.probe.record_item(item_id="r-1", aggregate="a", seq=3)
        item = alliance.probe.get_item(item_id="r-1")
    assert set(item) == {"id", "aggregate", "seq", "recorded_at"}
    assert item["seq"] == 3 and isinstance(item["recorded_at"], str) and "T" in item["recorded_at"]


def test_a_result_its_schema_refuses_is_an_error_in_tests(probe, client):
    with client() as alliance, pytest.raises(RemoteError, match="ResultError"):
        alliance.retries = 0
        alliance.probe.get_item_badly(item_id="r-2")
