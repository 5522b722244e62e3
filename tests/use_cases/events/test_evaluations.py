"""Evaluations' use cases (评选): nominations of merchants the register knows, one vote per voter per
nominee within the window by the roles named, and closing, which ranks and announces the winners."""

from datetime import timedelta

from alliance_events import use_cases
from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.use_cases.events.conftest import START, activity, evaluation, member, organiser, shop

RED, SHOES, KIDS = (
    "3f0c8a52-4d7e-4b8e-9a57-1d2c3b4a5e6f",
    "4a1d9b63-5e8f-4c9f-8b68-2e3d4c5b6f70",
    "5b2eac74-6f90-4da0-9c79-3f4e5d6c7081",
)
REGISTER = {RED, SHOES, KIDS}  # the merchants the registry knows


def _known(merchant_id):
    return merchant_id in REGISTER


def _evaluation(events, **settings):
    fields = evaluation()
    fields["evaluation"].update(settings)
    draft = events.call(use_cases.create_activity, organiser(), **fields)
    return str(events.call(use_cases.publish_activity, organiser(), activity_id=str(draft["id"]))["id"])


def _nominate(events, activity_id, merchant_id, caller=None):
    return events.call(
        use_cases.nominate,
        caller or organiser(),
        {"merchant_exists": _known},
        activity_id=activity_id,
        merchant_id=merchant_id,
        reason="诚信经营",
    )


def _refused_nomination(events, error, caller, activity_id, merchant_id):
    return events.refused(
        error,
        use_cases.nominate,
        caller,
        {"merchant_exists": _known},
        activity_id=activity_id,
        merchant_id=merchant_id,
        reason="诚信经营",
    )


def test_organisers_nominate_merchants_of_the_register_once_each(events):
    activity_id = _evaluation(events)
    assert _nominate(events, activity_id, RED) == {"activity_id": activity_id, "merchant_id": RED}
    [nomination] = events.query("SELECT merchant_id::text, nominated_by, reason FROM nominations")
    assert nomination == {"merchant_id": RED, "nominated_by": "staff:organiser", "reason": "诚信经营"}
    error = _refused_nomination(events, Conflict, organiser(), activity_id, RED)
    assert "already nominated" in str(error)
    unknown = "00000000-0000-4000-8000-000000000000"
    error = _refused_nomination(events, ValidationError, organiser(), activity_id, unknown)
    assert "unknown merchant" in str(error)
    _refused_nomination(events, Forbidden, member("p1"), activity_id, SHOES)


def test_no_nomination_once_voting_has_closed_and_none_outside_an_evaluation(events):
    activity_id = _evaluation(events)
    events.advance(days=3)
    error = _refused_nomination(events, Conflict, organiser(), activity_id, RED)
    assert "has closed: no more nominations" in str(error)
    draft = events.call(use_cases.create_activity, organiser(), **activity(type="training", theme_tags=[]))
    error = _refused_nomination(events, ValidationError, organiser(), str(draft["id"]), RED)
    assert "not an evaluation" in str(error)


def test_a_draft_or_cancelled_evaluation_takes_no_nomination(events):
    draft = str(events.call(use_cases.create_activity, organiser(), **evaluation())["id"])
    error = _refused_nomination(events, Conflict, organiser(), draft, RED)
    assert "is draft" in str(error)
    cancelled = _evaluation(events)
    events.call(use_cases.cancel_activity, organiser(), activity_id=cancelled, reason="取消")
    events.refused(Conflict, use_cases.vote, member("v1"), activity_id=cancelled, merchant_id=RED)


def test_one_vote_per_voter_per_nominee_within_the_window_by_the_roles_named(events):
    activity_id = _evaluation(events)
    _nominate(events, activity_id, RED)
    error = events.refused(Conflict, use_cases.vote, member("v1"), activity_id=activity_id, merchant_id=RED)
    assert "voting is open from" in str(error)
    events.advance(days=1, hours=1)
    assert events.call(use_cases.vote, member("v1"), activity_id=activity_id, merchant_id=RED)["voted"] is True
    error = events.refused(Conflict, use_cases.vote, member("v1"), activity_id=activity_id, merchant_id=RED)
    assert "already voted" in str(error)
    error = events.refused(ValidationError, use_cases.vote, member("v1"), activity_id=activity_id, merchant_id=SHOES)
    assert "not a nominee" in str(error)
    error = events.refused(Forbidden, use_cases.vote, shop(KIDS, "owner"), activity_id=activity_id, merchant_id=RED)
    assert "may vote" in str(error)
    events.advance(days=2)
    events.refused(Conflict, use_cases.vote, member("v2"), activity_id=activity_id, merchant_id=RED)


def test_closing_ranks_the_nominees_with_votes_a_tie_to_the_earlier_nomination(events):
    activity_id = _evaluation(events, winners=2)
    for merchant_id in (SHOES, RED, KIDS):
        _nominate(events, activity_id, merchant_id)
        events.advance(minutes=1)
    events.advance(days=1, hours=1)
    for voter, choices in {"v1": [RED, SHOES], "v2": [RED], "v3": [SHOES]}.items():
        for merchant_id in choices:
            events.call(use_cases.vote, member(voter), activity_id=activity_id, merchant_id=merchant_id)
    error = events.refused(Conflict, use_cases.close_evaluation, organiser(), activity_id=activity_id)
    assert "is open until" in str(error)
    events.advance(days=2)
    events.refused(Forbidden, use_cases.close_evaluation, organiser("aodele", "li"), activity_id=activity_id)
    result = events.call(use_cases.close_evaluation, organiser(), activity_id=activity_id)
    assert result["winners"] == [
        {"merchant_id": SHOES, "votes": 2, "rank": 1},  # nominated first
        {"merchant_id": RED, "votes": 2, "rank": 2},
    ]
    assert sorted((t["merchant_id"], t["votes"]) for t in result["tally"]) == sorted([(SHOES, 2), (RED, 2), (KIDS, 0)])
    [closed] = events.payloads("evaluation_closed")
    assert (closed["kind"], closed["year"], closed["stars"], closed["winners"]) == (
        "star_party_member_merchant",
        2026,
        5,
        result["winners"],
    )
    [row] = events.query(
        "SELECT status, evaluation_closed_at, completed_at FROM activities WHERE id = %s", (activity_id,)
    )
    assert row == {"status": "completed", "evaluation_closed_at": events.now, "completed_at": events.now}
    error = events.refused(Conflict, use_cases.close_evaluation, organiser(), activity_id=activity_id)
    assert "closed on" in str(error)


def test_a_nominee_without_votes_wins_nothing(events):
    activity_id = _evaluation(events, winners=3)
    _nominate(events, activity_id, RED)
    _nominate(events, activity_id, KIDS)
    events.advance(days=1, hours=1)
    events.call(use_cases.vote, member("v1"), activity_id=activity_id, merchant_id=KIDS)
    events.advance(days=2)
    result = events.call(use_cases.close_evaluation, organiser(), activity_id=activity_id)
    assert result["winners"] == [{"merchant_id": KIDS, "votes": 1, "rank": 1}]


def test_voting_windows_are_the_evaluation_s_own(events):
    opens = START + timedelta(hours=2)
    activity_id = _evaluation(
        events,
        voter_roles=["staff"],
        voting_opens_at=opens.isoformat(),
        voting_closes_at=(opens + timedelta(hours=1)).isoformat(),
    )
    _nominate(events, activity_id, RED)
    events.advance(hours=2)
    events.refused(Forbidden, use_cases.vote, member("v1"), activity_id=activity_id, merchant_id=RED)
    assert events.call(use_cases.vote, organiser(subject="s1"), activity_id=activity_id, merchant_id=RED)["voted"]
