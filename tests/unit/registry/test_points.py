"""The points rules of the members' ledger (党员积分): which fact gives whom how many points,
once per thing rewarded; the configuration's rules; ranks with ties."""

from datetime import date

import pytest

from alliance_contracts import example_envelopes
from alliance_platform.errors import ValidationError
from alliance_registry.domain import points

RULES = points.PointsRules.from_config(
    {"POINTS_RULES": {"attended_activity": 2, "handled_demand": 1, "good_rating": 1, "completed_pairing": 3}}
)


def _payload(source, **changes):
    service, event_type = source.split(".")
    return {**example_envelopes(service, event_type)[0]["payload"], **changes}


def _given(source, payload, rules=RULES):
    return [(a.rule, a.person_id, a.entity_id, a.points) for a in rules.awards(source, payload)]


def test_checking_in_at_an_activity_gives_the_registrant_its_points():
    payload = _payload(points.CHECKED_IN, person_id="m-1", registration_id="r-1", title="清明踏青野餐节")
    (award,) = RULES.awards(points.CHECKED_IN, payload)
    assert (award.rule, award.person_id, award.entity_id, award.points) == ("attended_activity", "m-1", "r-1", 2)
    assert award.reason == "参加活动：清明踏青野餐节"


@pytest.mark.parametrize(
    "rating, expected",
    [
        (None, [("handled_demand", 1)]),  # closed without a rating (after seven days)
        (1, [("handled_demand", 1)]),
        (3, [("handled_demand", 1)]),
        (4, [("handled_demand", 1), ("good_rating", 1)]),
        (5, [("handled_demand", 1), ("good_rating", 1)]),
    ],
)
def test_a_closed_demand_gives_its_responsible_person_points_and_a_good_rating_more(rating, expected):
    payload = _payload(points.TICKET_CLOSED, responsible_id="m-2", ticket_id="t-1", rating=rating)
    given = _given(points.TICKET_CLOSED, payload)
    assert [(rule, pts) for rule, _, _, pts in given] == expected
    assert {(person, entity) for _, person, entity, _ in given} == {("m-2", "t-1")}


def test_a_closed_demand_nobody_was_responsible_for_gives_nothing():
    assert _given(points.TICKET_CLOSED, _payload(points.TICKET_CLOSED, responsible_id=None, rating=5)) == []


def test_an_ended_pairing_gives_its_member_points():
    payload = _payload(points.PAIRING_ENDED, person_id="m-3", pairing_id="pr-1")
    assert _given(points.PAIRING_ENDED, payload) == [("completed_pairing", "m-3", "pr-1", 3)]


def test_a_rule_at_zero_or_left_out_gives_nothing():
    rules = points.PointsRules.from_config({"POINTS_RULES": {"handled_demand": 0, "good_rating": 2}})
    payload = _payload(points.TICKET_CLOSED, responsible_id="m-2", rating=5)
    assert [(rule, pts) for rule, _, _, pts in _given(points.TICKET_CLOSED, payload, rules)] == [("good_rating", 2)]
    assert _given(points.CHECKED_IN, _payload(points.CHECKED_IN), rules) == []


@pytest.mark.parametrize(
    "configured",
    [
        {"late_arrival": -1},
        {"attended_activity": "2"},
        {"attended_activity": 2.5},
        {"attended_activity": True},
        {"good_rating": 101},
    ],
)
def test_a_rule_the_ledger_does_not_know_or_a_value_not_whole_points_stops_the_start(configured):
    with pytest.raises(ValueError, match="POINTS_RULES"):
        points.PointsRules.from_config({"POINTS_RULES": configured})


def test_an_award_is_keyed_by_its_rule_the_thing_rewarded_and_the_member():
    payload = _payload(points.TICKET_CLOSED, responsible_id="m-2", ticket_id="t-1", rating=5)
    keys = [points.award_key(a) for a in RULES.awards(points.TICKET_CLOSED, payload)]
    assert keys == ["handled_demand:t-1:m-2", "good_rating:t-1:m-2"]
    # The same ticket closed again (reopened, closed once more) is the same thing rewarded.
    again = RULES.awards(points.TICKET_CLOSED, {**payload, "closed_at": "2026-03-20T02:00:00+00:00"})
    assert [points.award_key(a) for a in again] == keys


def test_a_correction_corrects_an_entry_of_the_same_member():
    points.check_correction({"person_id": "m-1"}, "m-1")
    with pytest.raises(ValidationError) as refused:
        points.check_correction({"person_id": "m-1"}, "m-2")
    assert "corrects" in refused.value.fields


def test_a_period_ends_on_or_after_its_start():
    points.check_period(date(2026, 12, 1), date(2026, 12, 1))
    points.check_period(None, date(2026, 12, 1))
    with pytest.raises(ValidationError):
        points.check_period(date(2026, 12, 2), date(2026, 12, 1))


def test_equal_points_share_a_rank_and_the_next_rank_counts_them():
    rows = [{"person_id": p, "points": n} for p, n in [("a", 9), ("b", 5), ("c", 5), ("d", 2), ("e", -1)]]
    assert [(r["person_id"], r["rank"]) for r in points.ranked(rows)] == [
        ("a", 1),
        ("b", 2),
        ("c", 2),
        ("d", 4),
        ("e", 5),
    ]
    assert points.ranked([]) == []


NO_SHOW_RULES = points.PointsRules.from_config({"POINTS_RULES": {"no_show": -1, "attended_meeting": 1}})


def test_each_no_show_of_an_activity_loses_a_point_once_per_registration():
    no_shows = [
        {"registration_id": "r-1", "person_id": "m-1", "merchant_id": None, "district_id": "outlets"},
        {"registration_id": "r-2", "person_id": "m-2", "merchant_id": None, "district_id": "outlets"},
    ]
    payload = _payload(points.NO_SHOWS_RECORDED, no_shows=no_shows, title="清明踏青野餐节")
    awards = NO_SHOW_RULES.awards(points.NO_SHOWS_RECORDED, payload)
    assert [(a.rule, a.person_id, a.entity_id, a.points) for a in awards] == [
        ("no_show", "m-1", "r-1", -1),
        ("no_show", "m-2", "r-2", -1),
    ]
    assert awards[0].reason == "报名未参加活动：清明踏青野餐节"
    assert points.award_key(awards[0]) != points.award_key(awards[1])
    assert _given(points.NO_SHOWS_RECORDED, _payload(points.NO_SHOWS_RECORDED, no_shows=[]), NO_SHOW_RULES) == []


def test_those_who_came_to_a_branch_meeting_earn_its_points_and_the_excused_and_absent_none():
    payload = _payload(points.MEETING_HELD, meeting_id="mt-1", attended=["m-1", "m-2"], absent=["m-3"])
    assert _given(points.MEETING_HELD, payload, NO_SHOW_RULES) == [
        ("attended_meeting", "m-1", "mt-1", 1),
        ("attended_meeting", "m-2", "mt-1", 1),
    ]


def test_no_shows_and_meetings_give_nothing_unless_configured():
    assert _given(points.NO_SHOWS_RECORDED, _payload(points.NO_SHOWS_RECORDED)) == []
    assert _given(points.MEETING_HELD, _payload(points.MEETING_HELD)) == []
