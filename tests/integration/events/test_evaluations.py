"""Evaluations (评选): nominations checked against the registry, one vote per voter per nominee
within the window, and closing names the winners."""

import pytest
from nameko.testing.services import entrypoint_waiter

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.integration.events.conftest import activity, evaluation


def test_nominate_vote_and_close_names_the_winners(events, merchants):
    red, shoes, kids = merchants
    with events.organiser() as organiser:
        created = organiser.events.create_activity(**evaluation())
        organiser.events.publish_activity(activity_id=created["activity_id"])
        evaluation_id = created["activity_id"]
        for merchant_id in merchants:
            organiser.events.nominate(activity_id=evaluation_id, merchant_id=merchant_id, reason="诚信经营")
        with pytest.raises(Conflict, match="already nominated"):
            organiser.events.nominate(activity_id=evaluation_id, merchant_id=red, reason="again")
        with pytest.raises(ValidationError, match="unknown merchant"):
            organiser.events.nominate(
                activity_id=evaluation_id, merchant_id="00000000-0000-4000-8000-000000000000", reason="x"
            )

    with events.member("early") as voter:
        with pytest.raises(Conflict, match="voting is open from"):
            voter.events.vote(activity_id=evaluation_id, merchant_id=red)
    events.time.advance(days=1, hours=1)
    ballots = {"v1": [red, shoes], "v2": [red, kids], "v3": [shoes, red], "v4": [shoes]}
    for voter_id, choices in ballots.items():
        with events.member(voter_id) as voter:
            for merchant_id in choices:
                voter.events.vote(activity_id=evaluation_id, merchant_id=merchant_id)
    with events.member("v1") as voter:
        with pytest.raises(Conflict, match="already voted"):
            voter.events.vote(activity_id=evaluation_id, merchant_id=red)
    with events.merchant() as shop:
        with pytest.raises(Forbidden, match="may vote"):
            shop.events.vote(activity_id=evaluation_id, merchant_id=red)
    with events.organiser() as organiser:
        with pytest.raises(Conflict, match="is open until"):
            organiser.events.close_evaluation(activity_id=evaluation_id)
        events.time.advance(days=2)
        result = organiser.events.close_evaluation(activity_id=evaluation_id)
        with pytest.raises(Conflict, match="closed on"):
            organiser.events.close_evaluation(activity_id=evaluation_id)

    assert [(w["merchant_id"], w["votes"], w["rank"]) for w in result["winners"]] == [(red, 3, 1), (shoes, 3, 2)]
    [closed] = events.payloads("evaluation_closed")
    assert (closed["kind"], closed["year"], closed["stars"]) == ("star_party_member_merchant", 2026, 5)
    assert [w["merchant_id"] for w in closed["winners"]] == [red, shoes]


def test_evaluation_settings_are_checked(events):
    with events.organiser() as organiser:
        with pytest.raises(ValidationError) as caught:
            organiser.events.create_activity(**activity(type="evaluation"))
        assert "evaluation" in caught.value.fields
        broken = evaluation()
        broken["evaluation"] = {**broken["evaluation"], "stars": None}
        with pytest.raises(ValidationError):
            organiser.events.create_activity(**broken)


def test_closing_an_evaluation_honours_its_winners_in_the_registry(events, registry, merchants, client):
    red, shoes, kids = merchants
    with events.organiser() as organiser:
        settings = evaluation()
        settings["evaluation"]["winners"] = 3
        created = organiser.events.create_activity(**settings)
        organiser.events.publish_activity(activity_id=created["activity_id"])
        for merchant_id in merchants:
            organiser.events.nominate(activity_id=created["activity_id"], merchant_id=merchant_id, reason="诚信经营")
    events.time.advance(days=1, hours=1)
    for voter_id, choice in (("v1", red), ("v2", red), ("v3", shoes), ("v4", kids)):
        with events.member(voter_id) as voter:
            voter.events.vote(activity_id=created["activity_id"], merchant_id=choice)
    events.time.advance(days=2)
    with entrypoint_waiter(registry, "handle_events_evaluation_closed") as awarded:
        with events.organiser() as organiser:
            organiser.events.close_evaluation(activity_id=created["activity_id"])
    outcome = awarded.get()
    assert len(outcome["awarded"]) == 2
    assert [s["merchant_id"] for s in outcome["skipped"]] == [kids], "its owner is no Party member"
    with client() as admin:
        honours = admin.registry.list_honours(kind="star_party_member_merchant", year=2026)["items"]
    assert sorted((h["merchant_id"], h["stars"]) for h in honours) == sorted([(red, 5), (shoes, 5)])
    assert all("2026年度星级党员商户评选" in h["reason"] for h in honours)
