"""What the SLA sweep owes a ticket: each warning once, escalation levels once each, in working time."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from alliance_tickets.domain import deadlines
from alliance_tickets.domain import lifecycle as lc
from alliance_tickets.domain.working_time import WorkingCalendar

TZ = ZoneInfo("Asia/Shanghai")
# Tuesday 1 December 2026, 10:00.
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
SETTINGS = SimpleNamespace(calendar=WorkingCalendar(), due_soon_minutes=60, escalate_to_alliance_after=480)


def ticket(status=lc.IN_PROGRESS, first=None, resolution=None, due_soon=(), overdue=(), level=0):
    return {
        "status": status,
        "first_response_due_at": first or NOW + timedelta(days=1),
        "resolution_due_at": resolution or NOW + timedelta(days=5),
        "due_soon_sent": list(due_soon),
        "overdue_sent": list(overdue),
        "escalation_level": level,
    }


def test_far_deadlines_owe_nothing():
    review = deadlines.review(ticket(), NOW, SETTINGS)
    assert review.notices == () and review.escalations == () and review.level == 0
    assert not review.changes(ticket())


def test_a_deadline_within_the_working_window_is_due_soon_once():
    near = ticket(resolution=NOW + timedelta(minutes=45))
    review = deadlines.review(near, NOW, SETTINGS)
    assert [(n.kind, n.target, n.event_type) for n in review.notices] == [("due_soon", "resolution", "ticket_due_soon")]
    assert review.due_soon_sent == ["resolution"] and review.changes(near)
    again = ticket(resolution=NOW + timedelta(minutes=45), due_soon=["resolution"])
    assert deadlines.review(again, NOW, SETTINGS).notices == ()


def test_an_hour_of_wall_clock_over_a_night_is_not_near_in_working_time():
    evening = datetime(2026, 12, 1, 17, 0, tzinfo=TZ)
    # Due at 09:00 next morning: 30 working minutes left today, 30 tomorrow — 60, just due soon.
    review = deadlines.review(ticket(resolution=evening + timedelta(hours=16)), evening, SETTINGS)
    assert [n.kind for n in review.notices] == ["due_soon"]
    # Due at 10:00 next morning: 120 working minutes left.
    assert deadlines.review(ticket(resolution=evening + timedelta(hours=17)), evening, SETTINGS).notices == ()


def test_only_a_ticket_not_yet_accepted_has_a_first_response_deadline():
    late = NOW - timedelta(hours=1)
    assert [n.target for n in deadlines.review(ticket(lc.SUBMITTED, first=late), NOW, SETTINGS).notices] == [
        "first_response"
    ]
    assert deadlines.review(ticket(lc.ACCEPTED, first=late), NOW, SETTINGS).notices == ()


def test_a_passed_deadline_is_overdue_once_and_goes_to_the_branch_then_the_alliance():
    missed = NOW - timedelta(hours=1)  # 60 working minutes late
    review = deadlines.review(ticket(resolution=missed), NOW, SETTINGS)
    assert [(n.kind, n.target, n.due_at) for n in review.notices] == [("overdue", "resolution", missed)]
    assert [(e.level, e.to) for e in review.escalations] == [(1, "branch_secretary")]
    assert review.missed_since == missed and review.level == 1

    a_day_later = NOW + timedelta(days=1)  # 600 working minutes late: past the alliance's 480
    seen = ticket(resolution=missed, overdue=["resolution"], level=1)
    review = deadlines.review(seen, a_day_later, SETTINGS)
    assert review.notices == ()
    assert [(e.level, e.to, e.note) for e in review.escalations] == [(2, "alliance", "上报联盟")]

    done = ticket(resolution=missed, overdue=["resolution"], level=2)
    assert deadlines.review(done, a_day_later, SETTINGS).escalations == ()
    assert not deadlines.review(done, a_day_later, SETTINGS).changes(done)


def test_a_ticket_found_long_overdue_goes_up_both_levels_at_once_for_its_earliest_miss():
    first, resolution = NOW - timedelta(days=7), NOW - timedelta(days=6)
    review = deadlines.review(ticket(lc.SUBMITTED, first=first, resolution=resolution), NOW, SETTINGS)
    assert sorted(n.target for n in review.notices) == ["first_response", "resolution"]
    assert [e.level for e in review.escalations] == [1, 2] and review.missed_since == first
    assert not any(n.kind == "due_soon" for n in review.notices), "a deadline found passed is only overdue"


def test_where_a_ticket_stands_is_told_in_working_minutes_of_the_deadline_that_counts_now():
    def stand(status=lc.IN_PROGRESS, at=NOW, paused=None, **dates):
        return deadlines.standing({**ticket(status, **dates), "sla_paused_at": paused}, WorkingCalendar(), at, 60)

    evening = datetime(2026, 12, 1, 17, 0, tzinfo=TZ)
    # 16 wall-clock hours, one working hour: the queue marks it due soon, with 60 minutes left.
    overnight = stand(at=evening, resolution=evening + timedelta(hours=16))
    assert overnight == {
        "target": "resolution",
        "due_at": evening + timedelta(hours=16),
        "working_minutes_left": 60,
        "state": "due_soon",
    }
    assert stand(resolution=NOW + timedelta(days=1))["state"] == "on_time"
    # Not accepted yet: the first response counts; due at 08:00, overdue by the 90 working minutes
    # since the centre opened at 08:30.
    late = stand(lc.SUBMITTED, first=NOW - timedelta(hours=2))
    assert (late["target"], late["working_minutes_left"], late["state"]) == ("first_response", -90, "overdue")
    # Waiting on the merchant: the minutes left when the clock stopped, however long ago.
    paused = stand(lc.WAITING_ON_MERCHANT, at=NOW + timedelta(days=3), resolution=NOW + timedelta(hours=3), paused=NOW)
    assert (paused["working_minutes_left"], paused["state"]) == (180, "paused")
    assert stand(lc.RESOLVED) is None and stand(lc.CLOSED) is None
