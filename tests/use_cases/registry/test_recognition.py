"""Honours and pairings on a real session: who may be honoured or paired, one standing honour (or
pairing) at a time, revocations, and an evaluation's winners honoured one by one."""

import uuid
from datetime import timedelta

import pytest

from alliance_contracts import example_envelopes, parse_event
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_registry import queries, use_cases

from .conftest import ADMIN, NOON, merchant, staff
from .samples import merchant_fields, person_fields

STAR = {"kind": "star_party_member_merchant", "year": 2026, "stars": 5, "reason": "诚信经营"}


def _member_merchant(register, district="aodele"):
    """A merchant whose owner is a Party member of the district's branch; (merchant, owner)."""
    owner = register(use_cases.register_person, **person_fields(district_id=district))
    register(
        use_cases.register_party_member,
        person_id=owner["person_id"],
        branch_id=f"branch_{district}",
        joined_on="2005-07-01",
    )
    shop = register(use_cases.register_merchant, **merchant_fields(district_id=district, owner_id=owner["person_id"]))
    return shop, owner


def test_an_honour_is_awarded_once_until_revoked(register):
    shop, _ = _member_merchant(register)
    ref = {"merchant_id": shop["merchant_id"]}
    star = register(use_cases.award_honour, **ref, **STAR)
    assert (star["district_id"], star["awarded_on"], star["awarded_by"]) == ("aodele", NOON.date(), "alliance")
    with pytest.raises(Conflict, match=star["honour_id"]):
        register(use_cases.award_honour, **ref, **{**STAR, "stars": 4})
    register(use_cases.award_honour, **ref, **{**STAR, "year": 2025})  # another year is another honour
    revoked = register(use_cases.revoke_honour, honour_id=star["honour_id"], reason="经营违规")
    assert (revoked["revoked_at"], revoked["revoked_reason"]) == (NOON, "经营违规")
    with pytest.raises(Conflict, match="already revoked"):
        register(use_cases.revoke_honour, honour_id=star["honour_id"], reason="twice")
    again = register(use_cases.award_honour, **ref, **{**STAR, "stars": 3})
    assert again["honour_id"] != star["honour_id"]
    assert register.event_types()[-4:] == ["honour_awarded", "honour_awarded", "honour_revoked", "honour_awarded"]
    actions = [h["action"] for h in register.history(shop["merchant_id"])]
    assert actions[-4:] == ["honour_awarded", "honour_awarded", "honour_revoked", "honour_awarded"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"stars": None}, "stars"),
        ({"year": None}, "year"),
        ({"kind": "party_member_model_store"}, "stars"),  # it has no stars
        ({"awarded_by": "nobody"}, "awarded_by"),
    ],
)
def test_an_honour_out_of_its_rules_is_refused(register, change, field):
    shop, _ = _member_merchant(register)
    with pytest.raises(ValidationError) as refused:
        register(use_cases.award_honour, merchant_id=shop["merchant_id"], **{**STAR, **change})
    assert field in refused.value.fields and register.count("honours") == 0


def test_only_an_open_merchant_whose_owner_is_a_party_member_is_honoured(register):
    plain = register(use_cases.register_merchant, **merchant_fields(district_id="aodele"))
    with pytest.raises(ValidationError, match="Party-member merchant"):
        register(use_cases.award_honour, merchant_id=plain["merchant_id"], **STAR)
    shop, _ = _member_merchant(register)
    register(use_cases.set_merchant_status, merchant_id=shop["merchant_id"], status="closed")
    with pytest.raises(Conflict, match="closed merchant cannot be honoured"):
        register(use_cases.award_honour, merchant_id=shop["merchant_id"], **STAR)
    with pytest.raises(Forbidden):
        register(use_cases.award_honour, caller=staff("outlets"), merchant_id=plain["merchant_id"], **STAR)
    with pytest.raises(NotFound):
        register(use_cases.award_honour, merchant_id=str(uuid.uuid4()), **STAR)
    assert register.count("honours") == 0 and "honour_awarded" not in register.event_types()


def _evaluation_closed(winners):
    envelope = example_envelopes("events", "evaluation_closed")[0]
    payload = {**envelope["payload"], "winners": winners}
    return parse_event({**envelope, "payload": payload, "actor": "staff:judge-1"})


def test_an_evaluations_winners_are_honoured_and_one_that_cannot_be_is_skipped(register):
    first, _ = _member_merchant(register)
    plain = register(use_cases.register_merchant, **merchant_fields())
    third, _ = _member_merchant(register, district="outlets")
    event = _evaluation_closed(
        [
            {"merchant_id": first["merchant_id"], "votes": 42, "rank": 1},
            {"merchant_id": plain["merchant_id"], "votes": 30, "rank": 2},
            {"merchant_id": third["merchant_id"], "votes": 12, "rank": 3},
        ]
    )
    outcome = register.run(use_cases.award_evaluation_winners, event)
    assert len(outcome["awarded"]) == 2
    assert [s["merchant_id"] for s in outcome["skipped"]] == [plain["merchant_id"]]
    honours = register.db("SELECT merchant_id::text, reason, stars FROM honours ORDER BY reason")
    assert [(h["merchant_id"], h["stars"]) for h in honours] == [(first["merchant_id"], 5), (third["merchant_id"], 5)]
    assert honours[0]["reason"] == "2026年度星级党员商户评选：第1名（42票）"
    (awarded,) = [h for h in register.history(first["merchant_id"]) if h["action"] == "honour_awarded"]
    assert awarded["actor"] == f"system:evaluation {event.payload['activity_id']} closed by staff:judge-1"
    # The same evaluation again: each winner already holds the honour, nothing is added.
    again = register.run(use_cases.award_evaluation_winners, event)
    assert again["awarded"] == [] and len(again["skipped"]) == 3 and register.count("honours") == 2


def test_a_party_member_and_a_merchant_are_paired_once_at_a_time(register):
    shop, member = _member_merchant(register)
    pair = {"person_id": member["person_id"], "merchant_id": shop["merchant_id"]}
    pairing = register(use_cases.start_pairing, **pair, note="帮助开网店")
    assert (pairing["status"], pairing["started_on"], pairing["district_id"]) == ("active", NOON.date(), "aodele")
    with pytest.raises(Conflict, match="already paired"):
        register(use_cases.start_pairing, **pair)
    register.now = NOON + timedelta(days=10)
    ended = register(use_cases.end_pairing, pairing_id=pairing["pairing_id"], reason="已开店")
    assert (ended["status"], ended["ended_on"], ended["end_reason"]) == (
        "ended",
        NOON.date() + timedelta(days=10),
        "已开店",
    )
    with pytest.raises(Conflict, match="already ended"):
        register(use_cases.end_pairing, pairing_id=pairing["pairing_id"])
    assert register(use_cases.start_pairing, **pair)["status"] == "active"  # once ended, paired again
    types = [t for t in register.event_types() if t.startswith("pairing")]
    assert types == ["pairing_started", "pairing_ended", "pairing_started"]


def test_a_merchants_pairings_are_listed_for_its_district_its_member_and_itself(register):
    shop, member = _member_merchant(register)
    pairing = register(use_cases.start_pairing, person_id=member["person_id"], merchant_id=shop["merchant_id"])
    register.now = NOON + timedelta(days=3)
    register(use_cases.end_pairing, pairing_id=pairing["pairing_id"], reason="已开店")
    again = register(use_cases.start_pairing, person_id=member["person_id"], merchant_id=shop["merchant_id"])

    def listed(caller=ADMIN, **query):
        return [(p["pairing_id"], p["status"]) for p in register(queries.list_pairings, caller, **query)]

    assert listed(merchant_id=shop["merchant_id"]) == [(again["pairing_id"], "active")]
    everything = listed(merchant_id=shop["merchant_id"], include_ended=True)
    assert set(everything) == {(again["pairing_id"], "active"), (pairing["pairing_id"], "ended")}
    assert listed(person_id=member["person_id"]) == [(again["pairing_id"], "active")]
    assert listed(staff("aodele"), merchant_id=shop["merchant_id"]) == [(again["pairing_id"], "active")]
    assert listed(staff("outlets"), merchant_id=shop["merchant_id"]) == [], "another district's: nothing"
    assert listed(merchant(shop), merchant_id=shop["merchant_id"]) == [(again["pairing_id"], "active")]
    with pytest.raises(Forbidden):
        register(queries.list_pairings, merchant(shop), person_id=member["person_id"])
    with pytest.raises(ValidationError):
        register(queries.list_pairings)


def test_a_pairing_needs_a_party_member_an_open_merchant_and_days_that_have_come(register):
    shop, member = _member_merchant(register)
    stranger = register(use_cases.register_person, **person_fields(district_id="aodele"))
    with pytest.raises(ValidationError, match="Party member"):
        register(use_cases.start_pairing, person_id=stranger["person_id"], merchant_id=shop["merchant_id"])
    with pytest.raises(NotFound):
        register(use_cases.start_pairing, person_id=str(uuid.uuid4()), merchant_id=shop["merchant_id"])
    tomorrow = (NOON.date() + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationError) as refused:
        register(
            use_cases.start_pairing, person_id=member["person_id"], merchant_id=shop["merchant_id"], started_on=tomorrow
        )
    assert "started_on" in refused.value.fields
    pairing = register(use_cases.start_pairing, person_id=member["person_id"], merchant_id=shop["merchant_id"])
    for day in ((NOON.date() - timedelta(days=1)).isoformat(), tomorrow):
        with pytest.raises(ValidationError):
            register(use_cases.end_pairing, pairing_id=pairing["pairing_id"], ended_on=day)
    with pytest.raises(Forbidden):
        register(use_cases.end_pairing, caller=staff("outlets"), pairing_id=pairing["pairing_id"])
    register(use_cases.end_pairing, pairing_id=pairing["pairing_id"])
    register(use_cases.set_merchant_status, merchant_id=shop["merchant_id"], status="closed")
    with pytest.raises(Conflict, match="closed merchant cannot be paired"):
        register(use_cases.start_pairing, person_id=member["person_id"], merchant_id=shop["merchant_id"])
    assert register.count("pairings") == 1


def test_a_merchant_lists_its_own_honours_only(register):
    shop, _ = _member_merchant(register)
    other, _ = _member_merchant(register, district="outlets")
    register(use_cases.award_honour, merchant_id=shop["merchant_id"], **STAR)
    register(use_cases.award_honour, merchant_id=other["merchant_id"], **STAR)
    mine = register(queries.list_honours, caller=merchant(shop))["items"]
    assert [h["merchant_id"] for h in mine] == [shop["merchant_id"]]
    with pytest.raises(Forbidden):
        register(queries.list_honours, caller=merchant(shop), merchant_id=other["merchant_id"])
    assert len(register(queries.list_honours, caller=staff("outlets"))["items"]) == 1
