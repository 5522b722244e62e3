"""Activities' use cases: who organises, consistent activities, the lifecycle, calendar coordination,
changes announced only when they are news, cancelling, completing (no-shows named), series; and reading."""

from datetime import timedelta

import pytest

from alliance_events import queries, timers, use_cases
from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.use_cases.events.conftest import ADMIN, START, SYSTEM, activity, member, organiser, shop


def _draft(events, caller=None, **overrides):
    return events.call(use_cases.create_activity, caller or organiser(), **activity(**overrides))


def _published(events, caller=None, **overrides):
    caller = caller or organiser()
    draft = _draft(events, caller, **overrides)
    return events.call(use_cases.publish_activity, caller, activity_id=str(draft["id"]))


def test_an_organiser_creates_a_draft_that_announces_nothing(events):
    draft = _draft(events, organiser(subject="wang"))
    assert (draft["status"], draft["created_by"], draft["created_at"]) == ("draft", "staff:wang", START)
    assert (draft["confirmed_count"], draft["waiting_count"]) == (0, 0)
    assert events.query("SELECT count(*) AS n FROM outbox") == [{"n": 0}]


@pytest.mark.parametrize(
    "caller, match",
    [
        (shop("6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f", "owner"), "only staff and administrators"),
        (member("volunteer-1", roles=("volunteer",)), "only staff and administrators"),
        (organiser("aodele"), "organises for none of"),
    ],
)
def test_only_staff_of_an_organising_district_create_an_activity(events, caller, match):
    error = events.refused(Forbidden, use_cases.create_activity, caller, **activity())
    assert match in str(error)


def test_an_administrator_and_a_system_organise_for_any_district(events):
    assert _draft(events, ADMIN)["created_by"] == "staff:admin"
    assert _draft(events, SYSTEM, organisers=["aodele"])["created_by"] == "system:crm"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ends_at": START.isoformat()}, "ends_at"),
        ({"registration_closes_at": START.isoformat()}, "registration_closes_at"),
        ({"registration_closes_at": (START + timedelta(days=8)).isoformat()}, "registration_closes_at"),
        ({"quotas": {"aodele": 2, "outlets": 2}}, "quotas"),
        ({"type": "evaluation"}, "evaluation"),
    ],
)
def test_an_inconsistent_activity_is_refused_naming_the_field(events, change, field):
    error = events.refused(ValidationError, use_cases.create_activity, organiser(), **activity(**change))
    assert field in error.fields


def test_evaluation_settings_are_for_evaluations_only(events):
    settings = {
        "kind": "party_member_model_store",
        "year": 2026,
        "winners": 1,
        "voter_roles": ["staff"],
        "voting_opens_at": START.isoformat(),
        "voting_closes_at": (START + timedelta(days=1)).isoformat(),
    }
    error = events.refused(ValidationError, use_cases.create_activity, organiser(), **activity(evaluation=settings))
    assert "evaluation" in error.fields


def test_publishing_announces_the_activity_to_its_audience(events):
    published = _published(events, capacity=40, quotas={"aodele": 10})
    assert (published["status"], published["published_at"]) == ("published", START)
    [announced] = events.payloads("activity_published")
    assert announced["activity_id"] == str(published["id"])
    assert (announced["audience"], announced["theme_tags"], announced["capacity"]) == (
        {"kinds": ["merchants", "party_members"], "districts": []},
        ["露营", "亲子"],
        40,
    )
    assert announced["series_id"] is None


def test_a_step_the_lifecycle_does_not_allow_is_a_conflict_that_changes_nothing(events):
    activity_id = str(_published(events)["id"])
    error = events.refused(Conflict, use_cases.publish_activity, organiser(), activity_id=activity_id)
    assert "cannot publish an activity that is published" in str(error)
    events.refused(Conflict, use_cases.complete_activity, organiser(), activity_id=activity_id)
    closed = events.call(use_cases.close_registration, organiser(), activity_id=activity_id)
    assert closed["status"] == "registration_closed"
    events.refused(Conflict, use_cases.close_registration, organiser(), activity_id=activity_id)


def test_only_its_organisers_manage_an_activity(events):
    activity_id = str(_draft(events, organiser(subject="creator"))["id"])
    for stranger in (organiser("aodele"), member("p-1"), shop("6f1d2c3b-4a5e-4b8e-9a57-1d2c3b4a5e6f", "owner")):
        events.refused(Forbidden, use_cases.publish_activity, stranger, activity_id=activity_id)
        events.refused(Forbidden, use_cases.update_activity, stranger, activity_id=activity_id, venue="别处")
        events.refused(Forbidden, use_cases.cancel_activity, stranger, activity_id=activity_id, reason="不办了")
    # Its creator manages it even from another district; an administrator manages any.
    assert events.call(use_cases.update_activity, organiser("aodele", "creator"), activity_id=activity_id, venue="北门")
    assert events.call(use_cases.publish_activity, ADMIN, activity_id=activity_id)["status"] == "published"


def test_an_unknown_activity_is_not_found(events):
    unknown = "00000000-0000-4000-8000-000000000000"
    events.refused(NotFound, use_cases.publish_activity, organiser(), activity_id=unknown)
    events.refused(NotFound, queries.get_activity, organiser(), activity_id=unknown)


def test_a_promotion_clashing_with_another_district_s_is_refused_unless_overridden(events):
    wholesale = organiser("wholesale_city", "wholesale")
    _published(events, wholesale, title="批发城野餐装备节", organisers=["wholesale_city"], theme_tags=["野餐", "露营"])
    mine = str(_draft(events)["id"])
    error = events.refused(Conflict, use_cases.publish_activity, organiser(), activity_id=mine)
    assert "批发城野餐装备节 (露营)" in str(error)
    overridden = events.call(use_cases.publish_activity, organiser(), activity_id=mine, override_reason="错位经营")
    assert overridden["clash_override"] == "错位经营"


def test_no_clash_with_other_themes_other_times_one_s_own_district_or_a_cancelled_promotion(events):
    wholesale = organiser("wholesale_city", "w")
    cancelled = _published(events, wholesale, organisers=["wholesale_city"])
    events.call(use_cases.cancel_activity, wholesale, activity_id=str(cancelled["id"]), reason="雨")
    _published(events, organiser("aodele", "a"), organisers=["aodele"], theme_tags=["运动"])
    later = START + timedelta(days=20)
    _published(
        events,
        organiser("aodele", "a"),
        organisers=["aodele"],
        starts_at=later.isoformat(),
        ends_at=(later + timedelta(hours=2)).isoformat(),
    )
    _published(events, theme_tags=["露营"])  # our own district's
    assert _published(events)["clash_override"] is None
    assert _published(events, type="training")["status"] == "published"


def test_a_change_once_announced_tells_everyone_registered_or_waiting_what_changed(events):
    activity_id = str(_published(events, capacity=1)["id"])
    for person in ("seated", "waiting"):
        events.call(use_cases.register, member(person), activity_id=activity_id)
    moved = events.call(
        use_cases.update_activity, organiser(), activity_id=activity_id, venue="奥莱广场北门", title="端午亲子露营节"
    )
    assert moved["venue"] == "奥莱广场北门"
    [updated] = events.payloads("activity_updated")
    assert (updated["changed"], updated["registrant_ids"]) == (["venue"], ["seated", "waiting"])
    events.call(use_cases.update_activity, organiser(), activity_id=activity_id, venue="奥莱广场北门")
    assert len(events.payloads("activity_updated")) == 1, "the same venue again is no news"


def test_a_draft_changes_without_announcing(events):
    activity_id = str(_draft(events)["id"])
    assert events.call(use_cases.update_activity, organiser(), activity_id=activity_id, capacity=9)["capacity"] == 9
    assert events.payloads("activity_updated") == []


def test_a_change_must_keep_the_activity_consistent_and_its_seats(events):
    activity_id = str(_published(events, capacity=2)["id"])
    for person in ("p1", "p2"):
        events.call(use_cases.register, member(person), activity_id=activity_id)
    error = events.refused(Conflict, use_cases.update_activity, organiser(), activity_id=activity_id, capacity=1)
    assert "below the 2 confirmed" in str(error)
    error = events.refused(
        ValidationError, use_cases.update_activity, organiser(), activity_id=activity_id, ends_at=START.isoformat()
    )
    assert "ends_at" in error.fields


def test_a_change_that_makes_a_promotion_clash_is_refused(events):
    _published(events, organiser("aodele", "a"), organisers=["aodele"], theme_tags=["运动"])
    activity_id = str(_published(events, theme_tags=["露营"])["id"])
    events.refused(Conflict, use_cases.update_activity, organiser(), activity_id=activity_id, theme_tags=["运动"])


def test_an_activity_that_is_over_does_not_change(events):
    activity_id = str(_published(events)["id"])
    events.call(use_cases.cancel_activity, organiser(), activity_id=activity_id, reason="暴雨预警")
    error = events.refused(Conflict, use_cases.update_activity, organiser(), activity_id=activity_id, venue="别处")
    assert "cancelled: it cannot change" in str(error)


def test_cancelling_cancels_every_registration_and_names_everyone_concerned(events):
    activity_id = str(_published(events, capacity=1)["id"])
    for person in ("p-b", "p-a"):
        events.call(use_cases.register, member(person), activity_id=activity_id)
    events.advance(hours=1)
    cancelled = events.call(use_cases.cancel_activity, organiser(), activity_id=activity_id, reason="暴雨预警")
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "暴雨预警")
    assert (cancelled["confirmed_count"], cancelled["waiting_count"], cancelled["confirmed_by_district"]) == (0, 0, {})
    assert events.query("SELECT DISTINCT status FROM registrations") == [{"status": "cancelled"}]
    [event] = events.payloads("activity_cancelled")
    assert (event["reason"], event["registrant_ids"]) == ("暴雨预警", ["p-a", "p-b"])
    assert event["cancelled_at"] == (START + timedelta(hours=1)).isoformat()
    events.refused(Conflict, use_cases.cancel_activity, organiser(), activity_id=activity_id, reason="再次")


def test_completing_marks_no_shows_and_names_them_and_keeps_no_points_of_its_own(events):
    activity_id = str(_published(events, type="training", theme_tags=[])["id"])
    codes = {p: events.call(use_cases.register, member(p), activity_id=activity_id)["check_in_code"] for p in "ab"}
    events.refused(Conflict, use_cases.complete_activity, organiser(), activity_id=activity_id)  # not started
    events.advance(days=7, minutes=1)
    events.tick(timers.run_schedule)
    events.call(use_cases.check_in, organiser(), activity_id=activity_id, code=codes["a"])
    done = events.call(use_cases.complete_activity, organiser(), activity_id=activity_id)
    # The points are the registry's ledger's: the released points_per_person stays, deprecated, at 0.
    assert (done["status"], done["attended"], done["no_shows"], done["points_per_person"]) == ("completed", 1, 1, 0)
    assert events.query("SELECT count(*) AS n FROM points") == [{"n": 0}]
    assert events.query("SELECT person_id, status FROM registrations ORDER BY person_id") == [
        {"person_id": "a", "status": "attended"},
        {"person_id": "b", "status": "no_show"},
    ]
    [completed] = events.payloads("activity_completed")
    assert (completed["attended"], completed["no_shows"], completed["points_awarded"]) == (1, 1, 0)
    [recorded] = events.payloads("no_shows_recorded")
    assert [n["person_id"] for n in recorded["no_shows"]] == ["b"]
    assert recorded["recorded_at"] == completed["completed_at"]


def _tutoring(until="2026-07-23"):
    first = START.replace(day=13, month=7)  # Monday 13 July
    return activity(
        title="暑期托管辅导",
        type="holiday_tutoring",
        starts_at=first.isoformat(),
        ends_at=(first + timedelta(hours=3)).isoformat(),
        registration_opens_at=(first - timedelta(days=10)).isoformat(),
        registration_closes_at=(first - timedelta(days=1)).isoformat(),
        audience={"kinds": ["children"], "districts": ["outlets"]},
        theme_tags=[],
        weekdays=[0, 3],
        until=until,
    )


def test_a_series_is_one_activity_per_date_each_with_its_registration_window(events):
    made = events.call(use_cases.create_series, organiser(), **_tutoring())
    starts = [a["starts_at"] for a in made["activities"]]
    assert [s.astimezone(START.tzinfo).strftime("%m-%d %a %H:%M") for s in starts] == [
        "07-13 Mon 09:00",
        "07-16 Thu 09:00",
        "07-20 Mon 09:00",
        "07-23 Thu 09:00",
    ]
    for occurrence in made["activities"]:
        assert str(occurrence["series_id"]) == made["series_id"]
        assert occurrence["registration_opens_at"] == occurrence["starts_at"] - timedelta(days=10)
        assert occurrence["registration_closes_at"] == occurrence["starts_at"] - timedelta(days=1)
    [series] = events.query("SELECT title, rule FROM series")
    assert series == {"title": "暑期托管辅导", "rule": {"weekdays": [0, 3], "until": "2026-07-23"}}


def test_a_series_beyond_its_limit_or_by_a_stranger_makes_nothing(events):
    error = events.refused(ValidationError, use_cases.create_series, organiser(), **_tutoring(until="2031-01-01"))
    assert "at most 200" in error.fields["until"][0]
    events.refused(Forbidden, use_cases.create_series, organiser("aodele"), **_tutoring())


def test_a_draft_is_seen_by_its_organisers_only(events):
    activity_id = str(_draft(events)["id"])
    events.refused(NotFound, queries.get_activity, member("p-1"), activity_id=activity_id)
    seen = events.call(queries.get_activity, organiser(), activity_id=activity_id)
    assert seen["status"] == "draft"


def test_lists_hide_drafts_but_from_administrators_and_systems(events):
    _draft(events, title="草稿")
    _published(events, title="已发布")
    seen = {
        who: {a["title"] for a in events.call(queries.list_activities, caller)["items"]}
        for who, caller in (("member", member("p-1")), ("organiser", organiser()), ("admin", ADMIN), ("system", SYSTEM))
    }
    assert seen == {
        "member": {"已发布"},
        "organiser": {"已发布"},
        "admin": {"草稿", "已发布"},
        "system": {"草稿", "已发布"},
    }


def test_lists_page_by_start_and_filter(events):
    for n in range(3):
        day = START + timedelta(days=7 + n)
        _published(
            events,
            title=f"奥莱{n}",
            type="training",
            theme_tags=[],
            starts_at=day.isoformat(),
            ends_at=(day + timedelta(hours=2)).isoformat(),
        )
    _published(events, organiser("aodele", "a"), title="澳德乐运动节", organisers=["aodele"], theme_tags=["运动"])
    titles, cursor = [], None
    while True:
        page = events.call(queries.list_activities, member("p-1"), district_id="outlets", limit=2, cursor=cursor)
        titles += [a["title"] for a in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert titles == ["奥莱0", "奥莱1", "奥莱2"]
    promotions = events.call(queries.list_activities, member("p-1"), type="themed_promotion")["items"]
    assert [a["title"] for a in promotions] == ["澳德乐运动节"]
    events.advance(days=7)  # registration for all of them has closed
    assert events.call(queries.list_activities, member("p-1"), open_for_registration=True)["items"] == []
