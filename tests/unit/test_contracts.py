from datetime import UTC, date, datetime

import pytest
from marshmallow import Schema, fields

import alliance_contracts as contracts
from alliance_contracts import CATALOG, ContractError, build_envelope, event_contract, parse_event


@pytest.mark.parametrize("key", sorted(CATALOG), ids=lambda k: f"{k[0]}.{k[1]}.v{k[2]}")
def test_every_documented_example_satisfies_its_contract(key):
    contract = CATALOG[key]
    assert contract.description, "every contract says what happened"
    for example in contract.examples:
        assert contract.schema.validate(example) == {}


def _meta():
    return dict(event_id="e" * 32, occurred_at=datetime(2026, 5, 1, tzinfo=UTC), correlation_id="c", aggregate_id="a")


@event_contract("unit", "thing_dated", examples=[{"day": "2026-05-01", "count": 2}])
class ThingDated(Schema):
    """A thing got a date (unit-test contract)."""

    day = fields.Date(required=True)
    count = fields.Integer(required=True, strict=True)


def test_an_envelope_round_trips_python_values_through_its_contract():
    body = build_envelope(
        source="unit", event_type="thing_dated", version=1, payload={"day": date(2026, 5, 1), "count": 2}, **_meta()
    )
    assert body["payload"] == {"day": "2026-05-01", "count": 2}
    event = parse_event(body)
    assert event.payload == {"day": date(2026, 5, 1), "count": 2}
    assert event.occurred_at == datetime(2026, 5, 1, tzinfo=UTC)


def test_a_payload_that_breaks_its_contract_cannot_be_published():
    with pytest.raises(ContractError, match="breaks its contract"):
        build_envelope(source="unit", event_type="thing_dated", version=1, payload={"day": date.today()}, **_meta())
    with pytest.raises(ContractError, match="no contract"):
        build_envelope(source="unit", event_type="thing_undated", version=1, payload={}, **_meta())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("event_id"),
        lambda b: b.update(version="1"),
        lambda b: b.update(occurred_at="2026-05-01T00:00:00"),  # naive time
        lambda b: b.update(version=9),
        lambda b: b["payload"].update(count="two"),
        lambda b: b.update(extra="an unknown envelope field"),
        lambda b: b.update(source=""),
        lambda b: b.update(event_id="e" * 31),
        lambda b: b.update(actor=7),
        lambda b: b.update(payload=["not", "an", "object"]),
        lambda b: b.update(occurred_at="yesterday"),
        lambda b: b.update(version=0),
    ],
)
def test_a_received_message_that_breaks_the_envelope_or_payload_is_rejected(mutate):
    body = build_envelope(
        source="unit", event_type="thing_dated", version=1, payload={"day": date(2026, 5, 1), "count": 2}, **_meta()
    )
    mutate(body)
    with pytest.raises(ContractError):
        parse_event(body)


def test_a_contract_needs_an_example_and_a_unique_key():
    with pytest.raises(ContractError):
        event_contract("unit", "thing_dated", examples=[{}])(ThingDated)
    with pytest.raises(ContractError):
        event_contract("unit", "undocumented")(ThingDated)


def test_example_envelopes_cover_every_version():
    assert [e["version"] for e in contracts.example_envelopes("unit", "thing_dated")] == [1]


def test_a_consumer_ignores_payload_fields_a_newer_publisher_added():
    body = contracts.example_envelopes("tickets", "ticket_resolved")[0]
    body = {**body, "payload": {**body["payload"], "added_in_a_later_release": "x"}}
    event = parse_event(body)
    assert "added_in_a_later_release" not in event.payload
    assert event.payload["ticket_id"] == body["payload"]["ticket_id"]


def test_an_envelope_checked_without_its_schema_reads_as_the_schema_reads_it():
    """A consumer's envelope is checked in plain Python, its payload by its one schema load: the
    event is the one the envelope schema would have given."""
    body = build_envelope(
        source="unit", event_type="thing_dated", version=1, payload={"day": date(2026, 5, 1), "count": 2}, **_meta()
    )
    body["actor"] = "staff:someone"
    loaded = contracts.EnvelopeSchema().load(body)
    event = parse_event(body)
    assert {**loaded, "payload": event.payload} == event.__dict__
    assert event.occurred_at.tzinfo is not None and event.payload["day"] == date(2026, 5, 1)
