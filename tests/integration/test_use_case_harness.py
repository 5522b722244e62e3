"""The two rungs every service's tests stand on, shown on the probe: a use case run against a real
database session without nameko or the broker, and the service harness over the broker."""

from datetime import UTC, datetime

from alliance_platform.errors import Forbidden
from tests.support.harness import identity
from tests.support.helpers import query
from tests.support.probe import ProbeService, record_item

NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def test_a_use_case_runs_on_a_real_session_and_commits_with_its_events(use_case):
    with use_case("probe", caller=identity(), now=NOON) as ctx:
        assert ctx.now == NOON and ctx.caller.kind == "staff"
        record_item(ctx.session, {"item_id": "uc-1", "aggregate": "a", "seq": 1})
    database = use_case.database("probe")
    assert query(database, "SELECT id FROM probe_items") == [{"id": "uc-1"}]
    assert [r["event_type"] for r in query(database, "SELECT event_type FROM outbox")] == ["item_recorded"]


def test_a_use_case_that_raises_leaves_nothing(use_case):
    try:
        with use_case("probe", caller=identity(kind="merchant", roles=["merchant"])) as ctx:
            record_item(ctx.session, {"item_id": "uc-2", "aggregate": "a", "seq": 1})
            raise Forbidden("refused after writing")
    except Forbidden:
        pass
    assert query(use_case.database("probe"), "SELECT count(*) AS n FROM probe_items")[0]["n"] == 0


def test_the_service_harness_calls_as_each_caller_and_sees_what_was_published(service_harness):
    probe = service_harness("probe", NOON, cls=ProbeService, kind="probe")
    with probe.staff() as alliance:
        alliance.probe.record_item(item_id="h-1")
    with probe.merchant("00000000-0000-4000-8000-000000000001") as shop:
        assert shop.probe.ping() == "pong"
    assert [p["item_id"] for p in probe.wait_published("item_recorded")] == ["h-1"]
