"""The floating member's transfer (组织关系转接) over the broker: a branch secretary starts it to a
receiving branch and completes it, another is declined; a retried request id starts one transfer;
typed errors change nothing; the member's record shows the state and the activity card's period."""

from datetime import timedelta

import pytest

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_registry.domain.days import today


def test_a_secretary_starts_and_completes_a_transfer_and_the_member_moves(registry, floating_member):
    china_today = today(registry.now())
    arrived = china_today - timedelta(days=190)
    with registry.admin() as alliance:
        (first, _), (second, _) = floating_member(alliance, arrived), floating_member(alliance, arrived)
    first, second = first["person_id"], second["person_id"]
    secretary = registry.staff("wholesale_city", roles=("branch_secretary",))
    with secretary as alliance:
        shown = alliance.registry.get_person(person_id=first)["party_member"]
        assert shown["transfer_state"] == "due" and shown["activity_card"]["expired"] is True
        started = alliance.registry.start_transfer.with_request_id("letter-017")(
            person_id=first, to_branch_id="branch_aodele", letter_no="义稠党介〔2026〕017号"
        )
        again = alliance.registry.start_transfer.with_request_id("letter-017")(
            person_id=first, to_branch_id="branch_aodele", letter_no="义稠党介〔2026〕017号"
        )
        assert again == started  # the retried request answered, not a second transfer (nor a Conflict)
        with pytest.raises(Conflict):
            alliance.registry.start_transfer(person_id=first)
        with pytest.raises(ValidationError):
            alliance.registry.start_transfer(person_id=second, started_on=(china_today + timedelta(days=1)).isoformat())
        declined = alliance.registry.start_transfer(person_id=second)
        alliance.registry.decline_transfer(transfer_id=declined["transfer_id"], reason="home_organisation_keeps")
        with pytest.raises(Conflict):
            alliance.registry.complete_transfer(transfer_id=declined["transfer_id"])
    with registry.staff("outlets", roles=("branch_secretary",)) as alliance:
        with pytest.raises(Forbidden):
            alliance.registry.complete_transfer(transfer_id=started["transfer_id"])
    with registry.staff("aodele", roles=("branch_secretary",)) as alliance:  # the receiving branch's
        done = alliance.registry.complete_transfer(transfer_id=started["transfer_id"])
        assert done["status"] == "completed" and done["completed_on"] == china_today.isoformat()
        listed = alliance.registry.list_transfers(to_branch_id="branch_aodele")
        assert [t["transfer_id"] for t in listed["items"]] == [started["transfer_id"]]
        with pytest.raises(ValidationError):
            alliance.registry.list_transfers(status="lost")
    with registry.admin() as alliance:
        member = alliance.registry.get_person(person_id=first)["party_member"]
        stats = alliance.registry.stats()
    assert (member["branch_id"], member["transfer_state"], member["transfer"]["letter_no"]) == (
        "branch_aodele",
        "completed",
        "义稠党介〔2026〕017号",
    )
    assert (stats["transfers_started"], stats["transfers_declined"]) == (0, 1)
    assert registry.db("SELECT count(*) AS n FROM member_transfers") == [{"n": 2}]
    transfer_events = [e for e in registry.event_types() if "transfer" in e]
    assert transfer_events == [
        "floating_member_transfer_started",
        "floating_member_transfer_started",
        "floating_member_transfer_declined",
        "floating_member_transferred_in",
    ]


def test_a_merchant_may_not_start_a_transfer(registry, floating_member):
    with registry.admin() as alliance:
        person, _ = floating_member(alliance, today(registry.now()) - timedelta(days=10))
    person_id = person["person_id"]
    with registry.merchant("3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f") as alliance:
        with pytest.raises(Forbidden):
            alliance.registry.start_transfer(person_id=person_id)
    assert registry.db("SELECT count(*) AS n FROM member_transfers") == [{"n": 0}]
