"""Every change says who made it (issue 18, audit): the platform's rows in ``changes``, over the real
broker and database, with the probe services — what is recorded, and what never is."""

import pytest

from alliance_platform.audit import Audit
from alliance_platform.entrypoints import timer
from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_platform.paging import encode_cursor
from alliance_platform.service import AllianceService
from tests.support.helpers import query, wait_until
from tests.support.probe import ProbeConsumer


def _changes(container):
    return query(container.config["DATABASE_URL"], "SELECT * FROM changes ORDER BY id")


def test_a_command_records_who_acted_under_which_correlation_and_request_id(probe, client, tokens):
    crm = tokens.issue("crm", "system", roles=["system"], districts=["*"])
    with client(crm, correlation_id="corr-crm") as alliance:
        item = alliance.probe.record_any.with_request_id("crm-order-7")(aggregate="shop-1")
    (row,) = _changes(probe)
    assert (row["service"], row["command"], row["acted_by"], row["on_behalf_of"]) == (
        "probe",
        "record_any",
        "system:crm",
        None,
    )
    assert (row["correlation_id"], row["request_id"]) == ("corr-crm", "crm-order-7")
    # The entities from the input and the answer, the input itself (bounded) as the summary.
    assert row["entities"] == [f"item:{item['item_id']}"]
    assert row["summary"] == {"aggregate": "shop-1", "sleep": 0, "sleep_if_new": 0}


def test_a_delegated_call_records_the_system_acting_and_the_person_it_acts_for(probe, client, tokens):
    person = tokens.issue(
        "p-42", "staff", roles=["staff"], districts=["aodele"], actor="miniprogram", delegation="dlg-1"
    )
    with client(person, correlation_id="corr-dlg") as alliance:
        alliance.probe.record_item(item_id="i-1")
    (row,) = _changes(probe)
    assert (row["acted_by"], row["on_behalf_of"], row["correlation_id"]) == (
        "system:miniprogram",
        "staff:p-42",
        "corr-dlg",
    )


def test_a_refused_or_rolled_back_command_records_nothing(probe, client, tokens):
    merchant = tokens.issue("m-owner", "merchant", roles=["merchant"], merchant_id="m-1")
    with client(merchant) as alliance, pytest.raises(Forbidden):
        alliance.probe.record_item(item_id="i-1")  # a role the method does not allow
    with client() as alliance:
        with pytest.raises(Conflict):
            alliance.probe.record_item_then_refuse(item_id="i-2")  # wrote, then refused: rolled back
        with pytest.raises(ValidationError):
            alliance.probe.record_item(item_id="")
        alliance.probe.record_item(item_id="i-3")
        with pytest.raises(Conflict):
            alliance.probe.record_item(item_id="i-3")  # the item exists: the database refuses
        alliance.probe.ping()  # no arguments, but a command all the same
    assert [(r["command"], r["entities"]) for r in _changes(probe)] == [
        ("record_item", ["item:i-3"]),
        ("ping", []),
    ]


def test_a_repeated_request_id_records_the_change_once(probe, client):
    with client() as alliance:
        first = alliance.probe.record_any.with_request_id("once")(aggregate="x")
        # Carried out again, it would succeed again: its commit meets the stored answer and is
        # rolled back whole, its audit row with it.
        assert alliance.probe.record_any.with_request_id("once")(aggregate="x") == first
        # Run again it would be refused (the item exists): the stored answer, no row.
        alliance.probe.record_item.with_request_id("item-once")(item_id="unique")
        alliance.probe.record_item.with_request_id("item-once")(item_id="unique")
    assert [(r["command"], r["request_id"]) for r in _changes(probe)] == [
        ("record_any", "once"),
        ("record_item", "item-once"),
    ]


def test_an_event_handled_records_the_event_acting_for_whoever_caused_it(
    probe, container_factory, service_config, client
):
    consumer = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    consumer.start()
    with client(correlation_id="corr-event") as alliance:
        alliance.probe.record_item(item_id="i-9", aggregate="a-9")
    (row,) = wait_until(lambda: _changes(consumer), message="the handler's change")
    assert (row["service"], row["command"], row["acted_by"], row["on_behalf_of"], row["correlation_id"]) == (
        "probe_consumer",
        "handle_probe_item_recorded",
        "event:probe.item_recorded",
        "staff:admin-1",
        "corr-event",
    )
    assert row["entities"] == ["item:i-9"] and row["summary"]["aggregate"] == "a-9"
    assert row["summary"]["event_id"]


def test_an_administrator_lists_the_changes_to_an_entity_page_by_page_and_no_one_else(probe, client, tokens):
    with client() as alliance:
        for n in range(5):
            alliance.probe.record_item(item_id=f"i-{n}", aggregate="a")
        everything = alliance.probe.list_changes()
        first = alliance.probe.list_changes(entity="item", entity_id="i-3")
        pages, cursor = [], None
        while True:
            page = alliance.probe.list_changes(limit=2, cursor=cursor)
            pages.append([c["entities"][0] for c in page["items"]])
            cursor = page["next_cursor"]
            if not cursor:
                break
        with pytest.raises(ValidationError):
            alliance.probe.list_changes(entity="item")  # an entity without its id
        for forged in (encode_cursor("yesterday", 1), encode_cursor("2026-12-01T00:00:00+00:00", "1"), "%%%"):
            with pytest.raises(ValidationError, match="cursor"):
                alliance.probe.list_changes(cursor=forged)
        after = alliance.probe.list_changes(since=everything["items"][2]["at"])
        before = alliance.probe.list_changes(until=everything["items"][2]["at"])
    assert [c["entities"] for c in first["items"]] == [["item:i-3"]] and first["next_cursor"] is None
    assert pages == [["item:i-0", "item:i-1"], ["item:i-2", "item:i-3"], ["item:i-4"]]
    assert len(after["items"]) == 3 and len(before["items"]) == 2
    staff = tokens.issue("s-1", "staff", roles=["staff"], districts=["*"])
    with client(staff) as alliance, pytest.raises(Forbidden):
        alliance.probe.list_changes()


class TimedProbe(AllianceService):
    """A timer that finds work on its first two runs (an item each), then none."""

    name = "timed_probe"
    runs = []

    @timer(interval=0.05, audit=Audit(references={"item_ids": "item"}))
    def sweep(self):
        self.runs.append(1)
        done = self.db.fetchval("SELECT count(*) FROM probe_items")
        if done >= 2:
            return {"recorded": 0, "item_ids": []}
        self.db.execute("INSERT INTO probe_items (id, aggregate, seq) VALUES (%s, 'sweep', 1)", (f"swept-{done}",))
        return {"recorded": 1, "item_ids": [f"swept-{done}"]}


def test_a_timer_run_that_did_work_is_recorded_as_the_service_and_an_idle_one_is_not(container_factory, service_config):
    container = container_factory(TimedProbe, service_config("timed_probe", kind="probe"))
    container.start()
    wait_until(lambda: len(TimedProbe.runs) >= 8, message="two runs with work and idle ones after them")
    rows = _changes(container)
    assert [(r["command"], r["acted_by"], r["on_behalf_of"], r["request_id"], r["entities"]) for r in rows] == [
        ("sweep", "system:timed_probe", None, None, ["item:swept-0"]),
        ("sweep", "system:timed_probe", None, None, ["item:swept-1"]),
    ]
    assert rows[0]["summary"] == {"result": {"recorded": 1, "item_ids": ["swept-0"]}}
