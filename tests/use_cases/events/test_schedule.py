"""What time does (the schedule), through the same transitions as the commands: registration closes
at its deadline, activities start (evaluations do not), reminders go out 24 h and 2 h before the
start once each; and the figures of a period."""

from datetime import timedelta

from alliance_events import queries, timers, use_cases
from alliance_platform.errors import Conflict
from tests.use_cases.events.conftest import START, activity, evaluation, member, organiser, shop

NOTHING_DONE = {"registration_closed": 0, "started": 0, "offers_expired": 0, "reminders": 0}


def _published(events, fields=None, **overrides):
    draft = events.call(use_cases.create_activity, organiser(), **(fields or activity(**overrides)))
    return str(events.call(use_cases.publish_activity, organiser(), activity_id=str(draft["id"]))["id"])


def _status(events, activity_id):
    return events.query("SELECT status FROM activities WHERE id = %s", (activity_id,))[0]["status"]


def test_registration_closes_at_its_deadline_and_the_activity_starts_at_its_start(events):
    activity_id = _published(events)
    assert events.tick(timers.run_schedule) == NOTHING_DONE
    events.advance(days=6)  # the deadline, the day before
    assert events.tick(timers.run_schedule)["registration_closed"] == 1
    assert _status(events, activity_id) == "registration_closed"
    events.refused(Conflict, use_cases.register, member("late"), activity_id=activity_id)
    events.advance(days=1)
    assert events.tick(timers.run_schedule)["started"] == 1
    assert _status(events, activity_id) == "in_progress"
    assert events.tick(timers.run_schedule) == NOTHING_DONE


def test_an_activity_whose_start_came_before_its_deadline_was_seen_starts_at_once(events):
    activity_id = _published(events)
    events.advance(days=7, minutes=1)
    assert events.tick(timers.run_schedule)["started"] == 1
    assert _status(events, activity_id) == "in_progress"


def test_drafts_cancelled_activities_and_evaluations_do_not_start(events):
    """An evaluation stays announced until its voting is closed (``close_evaluation``)."""
    draft = str(events.call(use_cases.create_activity, organiser(), **activity(title="草稿"))["id"])
    cancelled = _published(events, title="取消了", theme_tags=[])
    events.call(use_cases.cancel_activity, organiser(), activity_id=cancelled, reason="暴雨预警")
    voting = _published(events, evaluation())
    events.advance(days=8)
    events.tick(timers.run_schedule)
    assert [_status(events, a) for a in (draft, cancelled, voting)] == ["draft", "cancelled", "published"]


def test_confirmed_registrants_are_reminded_24h_and_2h_before_once_each(events):
    activity_id = _published(events, capacity=1)
    events.call(use_cases.register, member("going"), activity_id=activity_id)
    events.call(use_cases.register, member("waiting"), activity_id=activity_id)
    events.tick(timers.run_schedule)
    assert events.payloads("activity_reminder_due") == []
    events.advance(days=6, hours=1)  # 23 hours before
    assert events.tick(timers.run_schedule)["reminders"] == 1
    assert events.tick(timers.run_schedule)["reminders"] == 0
    events.advance(hours=21, minutes=30)  # 90 minutes before
    assert events.tick(timers.run_schedule)["reminders"] == 1
    events.advance(minutes=30)
    assert events.tick(timers.run_schedule)["reminders"] == 0
    reminders = events.payloads("activity_reminder_due")
    assert [(r["activity_id"], r["window"], r["person_ids"]) for r in reminders] == [
        (activity_id, "24h", ["going"]),
        (activity_id, "2h", ["going"]),
    ]
    [row] = events.query("SELECT reminders_sent FROM activities WHERE id = %s", (activity_id,))
    assert row == {"reminders_sent": ["24h", "2h"]}


def test_a_window_overtaken_by_a_nearer_one_is_skipped(events):
    starts = START + timedelta(hours=1)
    activity_id = _published(
        events,
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=2)).isoformat(),
        registration_closes_at=(starts + timedelta(minutes=30)).isoformat(),
    )
    assert events.tick(timers.run_schedule)["reminders"] == 1
    [reminder] = events.payloads("activity_reminder_due")
    assert (reminder["activity_id"], reminder["window"], reminder["person_ids"]) == (activity_id, "2h", [])
    assert events.tick(timers.run_schedule)["reminders"] == 0


def test_the_figures_of_a_period(events):
    training = _published(events, type="training", theme_tags=[], capacity=2)
    made = {
        "a": events.call(use_cases.register, shop("6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f", "a"), activity_id=training),
        "b": events.call(use_cases.register, member("b"), activity_id=training),
        "c": events.call(use_cases.register, member("c"), activity_id=training),
    }
    _published(events, title="运动节", organisers=["aodele", "outlets"], theme_tags=["运动"])
    events.call(use_cases.create_activity, organiser(), **activity(title="草稿"))  # drafts do not count
    events.advance(days=7, minutes=1)
    events.tick(timers.run_schedule)
    events.call(use_cases.check_in, organiser(), activity_id=training, code=made["a"]["check_in_code"])
    events.call(use_cases.complete_activity, organiser(), activity_id=training)
    period = {"since": START.isoformat(), "until": (START + timedelta(days=30)).isoformat()}
    figures = events.call(queries.stats, organiser(), **period)
    assert (figures["since"], figures["until"]) == (START, START + timedelta(days=30))
    assert figures["activities_by_type"] == {"themed_promotion": 1, "training": 1}
    assert figures["activities_by_district"] == {"aodele": 1, "outlets": 2}
    counted = {k: figures[k] for k in ("registrations", "confirmed", "attended", "no_shows", "waitlisted")}
    assert counted == {"registrations": 3, "confirmed": 2, "attended": 1, "no_shows": 1, "waitlisted": 1}
    # Points are the registry's ledger's: the released points fields stay, deprecated, at 0.
    assert (figures["attendance_rate"], figures["points_awarded"]) == (0.5, 0)
    assert figures["top_participants"] == [{"person_id": "a", "points": 0, "activities": 1}]
    assert figures["top_merchants"] == [{"merchant_id": "6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f", "points": 0}]
    later = {"since": (START + timedelta(days=30)).isoformat(), "until": (START + timedelta(days=60)).isoformat()}
    assert events.call(queries.stats, organiser(), **later)["attendance_rate"] is None
