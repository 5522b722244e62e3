"""The demand desk's follow-up practice as plain rules: which closed demands are called back, who
may supervise what, how units are ranked, the custody log's steps, merging as a lifecycle step,
and routing to the least-loaded qualified handler in working time."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_tickets.domain import custody, follow_up, ranking, supervision
from alliance_tickets.domain import lifecycle as lc
from alliance_tickets.domain.routing import RoutingTable, Rule, weighted_load
from alliance_tickets.domain.working_time import WorkingCalendar
from tests.support.harness import identity

TZ = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
CALENDAR = WorkingCalendar()
IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(2000)]

# --- follow-up calls -------------------------------------------------------------------------


def test_the_sample_draws_about_its_share_always_the_same_tickets():
    drawn = [i for i in IDS if follow_up.drawn(i, 0.2)]
    assert 0.15 < len(drawn) / len(IDS) < 0.25
    assert drawn == [i for i in IDS if follow_up.drawn(i, 0.2)], "a ticket is drawn or not, whoever asks"
    assert not any(follow_up.drawn(i, 0) for i in IDS[:50]) and all(follow_up.drawn(i, 1) for i in IDS[:50])
    assert set(drawn) <= {i for i in IDS if follow_up.drawn(i, 0.5)}, "a larger share draws a superset"


def test_a_sampled_call_is_due_a_working_day_after_the_close():
    friday_afternoon = datetime(2026, 12, 4, 16, 0, tzinfo=TZ)
    call = follow_up.sampled_call(CALENDAR, friday_afternoon)
    assert call.due_at == datetime(2026, 12, 7, 16, 0, tzinfo=TZ)
    assert "12月7日 16:00" in call.note


def test_a_call_is_recorded_once():
    with pytest.raises(Conflict, match="no follow-up call"):
        follow_up.require_owed(None, "DM-2026-000001")
    with pytest.raises(Conflict, match="recorded already: solved"):
        follow_up.require_owed({"outcome": "solved"}, "DM-2026-000001")
    follow_up.require_owed({"outcome": None}, "DM-2026-000001")


# --- supervision -------------------------------------------------------------------------------


def _ticket(**overrides):
    return {
        "reference": "DM-2026-000001",
        "district_id": "wholesale_city",
        "status": lc.IN_PROGRESS,
        "supervision_due_at": None,
        "escalation_level": 0,
        **overrides,
    }


@pytest.mark.parametrize(
    "caller",
    [
        identity("staff", ["admin"], ["*"], subject="admin"),
        identity("staff", ["branch_secretary"], ["wholesale_city"], subject="secretary"),
    ],
    ids=["administrator", "the-districts-branch-secretary"],
)
def test_a_district_leader_may_supervise(caller):
    supervision.require_supervisor(caller, _ticket())


@pytest.mark.parametrize(
    "caller",
    [
        identity("staff", ["staff"], ["wholesale_city"], subject="handler"),
        identity("staff", ["branch_secretary"], ["aodele"], subject="other-secretary"),
        identity("merchant", ["merchant"], ["wholesale_city"], subject="m", merchant_id="m"),
    ],
    ids=["staff-handler", "another-districts-secretary", "merchant"],
)
def test_nobody_else_may_supervise(caller):
    with pytest.raises(Forbidden):
        supervision.require_supervisor(caller, _ticket())


def test_only_an_overdue_or_escalated_demand_in_work_is_supervised_once_with_a_due_date_ahead():
    ahead = TUESDAY + timedelta(days=1)
    supervision.require_supervisable(_ticket(), True, ahead, TUESDAY)
    supervision.require_supervisable(_ticket(escalation_level=1), False, ahead, TUESDAY)
    with pytest.raises(Conflict, match="neither overdue nor escalated"):
        supervision.require_supervisable(_ticket(), False, ahead, TUESDAY)
    with pytest.raises(Conflict, match="already"):
        supervision.require_supervisable(_ticket(supervision_due_at=ahead), True, ahead, TUESDAY)
    with pytest.raises(Conflict, match="resolved"):
        supervision.require_supervisable(_ticket(status=lc.RESOLVED), True, ahead, TUESDAY)
    with pytest.raises(ValidationError):
        supervision.require_supervisable(_ticket(), True, TUESDAY, TUESDAY)


def test_the_steps_out_of_work_lift_a_supervision_and_reminders_keep_working_hours():
    assert {a: supervision.lifted_because(a) for a in ("resolve", "merge", "start", "reopen")} == {
        "resolve": "resolved",
        "merge": "merged",
        "start": None,
        "reopen": None,
    }
    late_afternoon = datetime(2026, 12, 4, 16, 30, tzinfo=TZ)  # Friday
    assert supervision.next_reminder(CALENDAR, late_afternoon, 240) == datetime(2026, 12, 7, 11, 30, tzinfo=TZ)


# --- ranking -----------------------------------------------------------------------------------


def _figures(submitted=10, response=1.0, on_time=1.0, rating=5.0, reopen=0.0, supervised=0):
    return {
        "submitted": submitted,
        "response_rate": response,
        "on_time_rate": on_time,
        "average_rating": rating,
        "reopen_rate": reopen,
        "supervised": supervised,
    }


def test_units_rank_by_the_weighted_mean_of_their_parts_ties_by_name():
    weights = ranking.Weights()
    ranked = ranking.rank(
        {
            "outlets": _figures(supervised=5),  # supervision part 0.5
            "aodele": _figures(),
            "wholesale_city": _figures(),
            "team-x": _figures(response=None, on_time=None, rating=None, reopen=None, submitted=0),
        },
        weights,
    )
    assert [(r["unit"], r["rank"]) for r in ranked] == [
        ("aodele", 1),
        ("wholesale_city", 2),
        ("outlets", 3),
        ("team-x", None),
    ]
    assert ranked[0]["score"] == 1.0 and ranked[2]["score"] == pytest.approx(0.9)


def test_a_unit_is_scored_on_the_parts_it_has_figures_for_and_weights_count():
    nothing_resolved = _figures(on_time=None, reopen=None, rating=None, response=0.5)
    # response 0.5, supervision 1.0: their mean
    assert ranking.score(nothing_resolved, ranking.Weights()) == pytest.approx(0.75)
    only_rating = ranking.Weights(response=0, on_time=0, reopen=0, supervision=0)
    assert ranking.score(_figures(rating=3.0), only_rating) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown parts"):
        ranking.Weights.from_config({"speed": 1})
    with pytest.raises(ValueError):
        ranking.Weights.from_config(dict.fromkeys(ranking.PARTS, 0))


# --- the custody log ---------------------------------------------------------------------------


def _item(**overrides):
    return {"document": "营业执照副本", "returned_at": None, "confirmed_at": None, **overrides}


def test_a_document_is_held_returned_then_confirmed_each_once():
    held, returned = _item(), _item(returned_at=TUESDAY)
    confirmed = _item(returned_at=TUESDAY, confirmed_at=TUESDAY)
    assert [custody.state_of(i) for i in (held, returned, confirmed)] == ["held", "returned", "confirmed"]
    custody.require_held(held)
    with pytest.raises(Conflict):
        custody.require_held(returned)
    custody.require_returned(returned)
    for item in (held, confirmed):
        with pytest.raises(Conflict):
            custody.require_returned(item)


def test_only_an_assisted_demand_not_final_takes_documents_in():
    custody.require_may_receive({"reference": "DM-1", "handling_mode": "assisted", "status": lc.RESOLVED})
    with pytest.raises(Conflict, match="on the spot"):
        custody.require_may_receive({"reference": "DM-1", "handling_mode": "on_the_spot", "status": lc.IN_PROGRESS})
    with pytest.raises(Conflict, match="closed"):
        custody.require_may_receive({"reference": "DM-1", "handling_mode": "assisted", "status": lc.CLOSED})


# --- merging -----------------------------------------------------------------------------------


def test_an_open_duplicate_merges_into_closed_and_nothing_final_or_resolved_does():
    for state in lc.OPEN:
        assert lc.next_state(state, "merge") == lc.CLOSED
    for state in (*lc.FINAL, lc.RESOLVED):
        with pytest.raises(Conflict):
            lc.next_state(state, "merge")


# --- least-loaded routing ----------------------------------------------------------------------


def test_a_demand_weighs_more_the_less_working_time_is_left():
    now = TUESDAY
    far = CALENDAR.add(now, 2700)
    assert weighted_load([(far, None)], now, CALENDAR) == pytest.approx(1.0)
    assert weighted_load([(now - timedelta(hours=1), None)], now, CALENDAR) == pytest.approx(2.0)
    assert weighted_load([(CALENDAR.add(now, 1350), None)], now, CALENDAR) == pytest.approx(1.5)
    # Over a weekend the wall clock runs, working time does not: Friday 17:00 -> Monday 09:00 is 60 min.
    friday = datetime(2026, 12, 4, 17, 0, tzinfo=TZ)
    monday_morning = datetime(2026, 12, 7, 9, 0, tzinfo=TZ)
    assert weighted_load([(monday_morning, None)], friday, CALENDAR) == pytest.approx(1 + 2640 / 2700)
    # A paused demand counts what was left when its clock stopped.
    paused_at = now - timedelta(days=7)
    assert weighted_load([(CALENDAR.add(paused_at, 2700), paused_at)], now, CALENDAR) == pytest.approx(1.0)


class Directory:
    """A stand-in for the read model: people by role, experts, and each one's open work."""

    def __init__(self, by_role=(), experts=(), work=None):
        self._by_role, self._experts, self._work = list(by_role), list(experts), dict(work or {})
        self.asked = []

    def holding(self, roles):
        self.asked.append(sorted(roles))
        return self._by_role

    def experts(self, skills):
        return self._experts

    def paired_members(self):
        return []

    def volunteers(self):
        return []

    def open_work(self, people):
        return {p: self._work[p] for p in people if p in self._work}


def _table(*rules):
    return RoutingTable([*rules, {"category": "*", "district": "*", "style": "team", "team": "centre"}], CALENDAR)


def test_least_loaded_picks_the_qualified_handler_with_the_least_weighted_open_work():
    table = _table(
        {
            "category": "other",
            "district": "*",
            "style": "team",
            "team": "centre",
            "assign": "least_loaded",
            "roles": ["staff"],
        }
    )
    soon, later = CALENDAR.add(TUESDAY, 30), CALENDAR.add(TUESDAY, 5000)
    # a: two demands due in 30 min (≈3.98); b: three due next week (3.0); c: nothing — c first.
    directory = Directory(["a", "b", "c"], work={"a": [(soon, None)] * 2, "b": [(later, None)] * 3})
    route = table.route("other", "wholesale_city", directory, now=TUESDAY)
    assert (route.assignee, route.team, route.style) == ("c", None, "team")
    assert directory.asked == [["staff"]]
    busy = Directory(["a", "b"], work={"a": [(soon, None)] * 2, "b": [(later, None)] * 3})
    assert table.route("other", "wholesale_city", busy, now=TUESDAY).assignee == "b", "fewer cases is not less work"


def test_least_loaded_falls_back_to_the_team_and_reorders_experts_too():
    table = _table(
        {
            "category": "other",
            "district": "*",
            "style": "team",
            "team": "centre",
            "assign": "least_loaded",
            "roles": ["staff"],
        },
        {
            "category": "online_shop",
            "district": "*",
            "style": "expertise",
            "skills": ["电商"],
            "fallback_team": "centre",
            "assign": "least_loaded",
        },
    )
    nobody = table.route("other", "aodele", Directory([]), now=TUESDAY)
    assert (nobody.assignee, nobody.team) == (None, "centre")
    soon = CALENDAR.add(TUESDAY, 30)
    experts = Directory(experts=["x", "y"], work={"x": [(soon, None)]})
    assert table.route("online_shop", "aodele", experts, now=TUESDAY).assignee == "y"


def test_a_least_loaded_rule_is_checked_when_the_table_is_loaded():
    with pytest.raises(ValueError, match="needs roles"):
        Rule("other", "*", "team", team="centre", assign="least_loaded")
    with pytest.raises(ValueError, match="assign"):
        Rule("other", "*", "team", team="centre", assign="random")
    rules = [
        {"category": "*", "district": "*", "style": "team", "team": "c", "assign": "least_loaded", "roles": ["staff"]}
    ]
    with pytest.raises(ValueError, match="calendar"):
        RoutingTable(rules)
