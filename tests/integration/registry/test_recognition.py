"""Honours and pairings: awarded to Party-member merchants, revocable, history kept."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.use_cases.registry.samples import merchant_fields, person_fields


@pytest.fixture
def member_merchant(registry):
    """A merchant in Aodele whose owner is a Party member of the Aodele branch."""
    with registry.admin() as alliance:
        owner = alliance.registry.register_person(**person_fields(district_id="aodele"))
        alliance.registry.register_party_member(
            person_id=owner["person_id"], branch_id="branch_aodele", joined_on="2005-07-01"
        )
        merchant = alliance.registry.register_merchant(
            **merchant_fields(district_id="aodele", owner_id=owner["person_id"])
        )
    return merchant, owner


def test_award_list_and_revoke_honours(registry, member_merchant):
    merchant, _ = member_merchant
    with registry.admin() as alliance:
        star = alliance.registry.award_honour(
            merchant_id=merchant["merchant_id"],
            kind="star_party_member_merchant",
            year=2026,
            stars=5,
            reason="诚信经营",
        )
        plaque = alliance.registry.award_honour(
            merchant_id=merchant["merchant_id"],
            kind="party_member_business_plaque",
            reason="党员亮身份经营",
            awarded_by="branch_aodele",
        )
        with pytest.raises(Conflict):
            alliance.registry.award_honour(
                merchant_id=merchant["merchant_id"],
                kind="star_party_member_merchant",
                year=2026,
                stars=4,
                reason="again",
            )
        assert {h["honour_id"] for h in alliance.registry.list_honours()["items"]} == {
            star["honour_id"],
            plaque["honour_id"],
        }
        revoked = alliance.registry.revoke_honour(honour_id=star["honour_id"], reason="经营违规")
        with pytest.raises(Conflict):
            alliance.registry.revoke_honour(honour_id=star["honour_id"], reason="twice")
        with pytest.raises(NotFound):
            alliance.registry.revoke_honour(honour_id="00000000-0000-0000-0000-000000000000", reason="x")
        assert [h["honour_id"] for h in alliance.registry.list_honours()["items"]] == [plaque["honour_id"]]
        assert len(alliance.registry.list_honours(include_revoked=True)["items"]) == 2
        # A revoked yearly honour can be awarded again for that year.
        alliance.registry.award_honour(
            merchant_id=merchant["merchant_id"], kind="star_party_member_merchant", year=2026, stars=3, reason="整改"
        )
        holders = alliance.registry.search_merchants(honour="party_member_business_plaque")["items"]
        stats = alliance.registry.stats()
        history = alliance.registry.get_merchant(merchant_id=merchant["merchant_id"], include_history=True)["history"]
    assert revoked["revoked_reason"] == "经营违规" and star["stars"] == 5 and star["district_id"] == "aodele"
    assert [m["merchant_id"] for m in holders] == [merchant["merchant_id"]]
    assert stats["honours_by_kind"] == {
        "star_party_member_merchant": 1,
        "party_member_model_store": 0,
        "party_member_business_plaque": 1,
    }
    assert [h["action"] for h in history if "honour" in h["action"]] == [
        "honour_awarded",
        "honour_awarded",
        "honour_revoked",
        "honour_awarded",
    ]
    assert registry.event_types()[5:] == ["honour_awarded", "honour_awarded", "honour_revoked", "honour_awarded"]
    with registry.merchant(merchant["merchant_id"], district="aodele") as alliance:
        assert len(alliance.registry.list_honours()["items"]) == 2
        with pytest.raises(Forbidden):
            alliance.registry.award_honour(
                merchant_id=merchant["merchant_id"], kind="party_member_model_store", reason="自荐"
            )


def test_bad_honours_are_refused_and_nothing_is_written(registry, member_merchant):
    merchant, _ = member_merchant
    with registry.admin() as alliance:
        plain = alliance.registry.register_merchant(**merchant_fields(district_id="aodele"))
        good = {"merchant_id": merchant["merchant_id"], "kind": "star_party_member_merchant", "year": 2026, "stars": 5}
        for bad in (
            {"stars": 6},
            {"stars": None},
            {"year": None},
            {"kind": "best_shop"},
            {"kind": "party_member_model_store"},  # has no stars
            {"awarded_by": "nobody"},
            {"merchant_id": plain["merchant_id"]},  # its owner is no Party member
        ):
            with pytest.raises(ValidationError):
                alliance.registry.award_honour(**{**good, **bad}, reason="理由")
        with pytest.raises(NotFound):
            alliance.registry.award_honour(
                **{**good, "merchant_id": "00000000-0000-0000-0000-000000000000"}, reason="理由"
            )
    with registry.staff("outlets") as alliance:
        with pytest.raises(Forbidden):
            alliance.registry.award_honour(**good, reason="理由")
    assert registry.db("SELECT count(*) AS n FROM honours")[0]["n"] == 0


def test_pairings_start_and_end(registry, member_merchant):
    merchant, member = member_merchant
    with registry.admin() as alliance:
        stranger = alliance.registry.register_person(**person_fields(district_id="aodele"))
        pairing = alliance.registry.start_pairing(
            person_id=member["person_id"], merchant_id=merchant["merchant_id"], note="帮助开网店"
        )
        assert pairing["status"] == "active" and pairing["district_id"] == "aodele"
        with pytest.raises(Conflict):
            alliance.registry.start_pairing(person_id=member["person_id"], merchant_id=merchant["merchant_id"])
        with pytest.raises(ValidationError):
            alliance.registry.start_pairing(person_id=stranger["person_id"], merchant_id=merchant["merchant_id"])
        with pytest.raises(NotFound):
            alliance.registry.start_pairing(
                person_id=member["person_id"], merchant_id="00000000-0000-0000-0000-000000000000"
            )
        with pytest.raises(ValidationError):
            alliance.registry.end_pairing(pairing_id=pairing["pairing_id"], ended_on="2000-01-01")
    with registry.staff("outlets") as alliance, pytest.raises(Forbidden):
        alliance.registry.end_pairing(pairing_id=pairing["pairing_id"])
    with registry.staff("aodele", roles=("branch_secretary",)) as alliance:
        ended = alliance.registry.end_pairing(pairing_id=pairing["pairing_id"], reason="已开店")
        with pytest.raises(Conflict):
            alliance.registry.end_pairing(pairing_id=pairing["pairing_id"])
        # Once ended, the same two may be paired again.
        alliance.registry.start_pairing(person_id=member["person_id"], merchant_id=merchant["merchant_id"])
    assert ended["status"] == "ended" and ended["end_reason"] == "已开店"
    received = [(t, p) for t, p in registry.events() if t.startswith("pairing")]
    assert [t for t, _ in received] == ["pairing_started", "pairing_ended", "pairing_started"]
    assert registry.db("SELECT count(*) AS n FROM pairings WHERE ended_on IS NULL")[0]["n"] == 1
