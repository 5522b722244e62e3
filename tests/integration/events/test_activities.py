"""Activities: creating, publishing with calendar coordination, changing, cancelling, series, lists."""

from datetime import date, datetime, timedelta

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.integration.events.conftest import START, activity


def test_publish_and_read_an_activity(events):
    with events.organiser() as organiser:
        draft = organiser.events.create_activity(**activity())
        assert draft["status"] == "draft"
        with events.member() as member:
            with pytest.raises(NotFound):
                member.events.get_activity(activity_id=draft["activity_id"])  # drafts are the organisers' own
        published = organiser.events.publish_activity(activity_id=draft["activity_id"])
    with events.member() as member:
        seen = member.events.get_activity(activity_id=draft["activity_id"])
    assert published["status"] == seen["status"] == "published"
    assert (seen["confirmed"], seen["waitlisted"]) == (0, 0)
    [announced] = events.payloads("activity_published")
    assert announced["audience"] == {"kinds": ["merchants", "party_members"], "districts": []}
    assert announced["theme_tags"] == ["露营", "亲子"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ends_at": START.isoformat()}, "ends_at"),
        ({"registration_closes_at": START.isoformat()}, "registration_closes_at"),
        ({"quotas": {"aodele": 2, "outlets": 2}}, "quotas"),
        ({"type": "dance_party"}, "type"),
        ({"capacity": -1}, "capacity"),
        ({"organisers": []}, "organisers"),
        ({"audience": {"kinds": []}}, "audience"),
    ],
)
def test_inconsistent_activities_are_refused(events, change, field):
    with events.organiser() as organiser:
        with pytest.raises(ValidationError) as caught:
            organiser.events.create_activity(**activity(**change))
    assert field in caught.value.fields


def test_a_clashing_promotion_of_another_district_is_refused_unless_overridden(events):
    with events.organiser("wholesale_city") as wholesale, events.organiser("outlets") as outlets:
        theirs = wholesale.events.create_activity(
            **activity(title="批发城野餐装备节", organisers=["wholesale_city"], theme_tags=["野餐", "露营"])
        )
        wholesale.events.publish_activity(activity_id=theirs["activity_id"])
        mine = outlets.events.create_activity(**activity())
        with pytest.raises(Conflict, match="批发城野餐装备节 \\(露营\\)"):
            outlets.events.publish_activity(activity_id=mine["activity_id"])
        different = outlets.events.create_activity(**activity(theme_tags=["花园"]))
        assert outlets.events.publish_activity(activity_id=different["activity_id"])["status"] == "published"
        overridden = outlets.events.publish_activity(
            activity_id=mine["activity_id"], override_reason="联合举办，错位经营"
        )
    assert overridden["clash_override"] == "联合举办，错位经营"


def test_only_organisers_manage_and_changes_are_announced(events):
    with events.organiser() as organiser:
        created = organiser.events.create_activity(**activity())
        organiser.events.publish_activity(activity_id=created["activity_id"])
        moved = organiser.events.update_activity(activity_id=created["activity_id"], venue="奥莱广场北门")
        with pytest.raises(ValidationError):
            organiser.events.update_activity(activity_id=created["activity_id"])
    assert moved["venue"] == "奥莱广场北门"
    assert events.payloads("activity_updated")[0]["changed"] == ["venue"]
    with events.organiser("aodele") as stranger:
        with pytest.raises(Forbidden):
            stranger.events.update_activity(activity_id=created["activity_id"], venue="别处")
        with pytest.raises(Forbidden):
            stranger.events.create_activity(**activity())  # organising for Outlets from Aodele
    with events.merchant() as shop:
        with pytest.raises(Forbidden):
            shop.events.create_activity(**activity())


def test_a_weekly_tutoring_series_has_its_own_dates_and_registrations(events):
    first = START.replace(day=13, month=7)  # Monday 13 July, summer holiday
    tutoring = activity(
        title="暑期托管辅导",
        type="holiday_tutoring",
        starts_at=first.isoformat(),
        ends_at=(first + timedelta(hours=3)).isoformat(),
        registration_opens_at=START.isoformat(),
        registration_closes_at=(first - timedelta(days=1)).isoformat(),
        capacity=20,
        audience={"kinds": ["children"], "districts": ["outlets"]},
        partners=["德州新东方培训学校"],
        theme_tags=[],
        weekdays=[0, 3],
        until=date(2026, 7, 31).isoformat(),
    )
    with events.organiser() as organiser:
        series = organiser.events.create_series(**tutoring)
    dates = [datetime.fromisoformat(a["starts_at"]) for a in series["activities"]]
    assert [d.strftime("%m-%d %a") for d in dates] == [
        "07-13 Mon",
        "07-16 Thu",
        "07-20 Mon",
        "07-23 Thu",
        "07-27 Mon",
        "07-30 Thu",
    ]
    assert len({a["activity_id"] for a in series["activities"]}) == 6
    assert all(a["series_id"] == series["series_id"] for a in series["activities"])
    second = series["activities"][1]
    assert datetime.fromisoformat(second["registration_closes_at"]) == dates[1] - timedelta(days=1)


def test_lists_filter_and_page(events):
    with events.organiser("outlets") as outlets, events.organiser("aodele") as aodele:
        for n in range(3):
            created = outlets.events.create_activity(
                **activity(
                    title=f"奥莱{n}",
                    type="training",
                    theme_tags=[],
                    starts_at=(START + timedelta(days=7 + n)).isoformat(),
                    ends_at=(START + timedelta(days=7 + n, hours=2)).isoformat(),
                )
            )
            outlets.events.publish_activity(activity_id=created["activity_id"])
        other = aodele.events.create_activity(
            **activity(title="澳德乐运动节", organisers=["aodele"], theme_tags=["运动"])
        )
        aodele.events.publish_activity(activity_id=other["activity_id"])
        aodele.events.create_activity(**activity(title="草稿", organisers=["aodele"]))
    with events.member() as member:
        titles, cursor = [], None
        while True:
            page = member.events.list_activities(district_id="outlets", limit=2, cursor=cursor)
            titles += [a["title"] for a in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert titles == ["奥莱0", "奥莱1", "奥莱2"]
        assert [a["title"] for a in member.events.list_activities(type="themed_promotion")["items"]] == ["澳德乐运动节"]
        assert len(member.events.list_activities(open_for_registration=True)["items"]) == 4
        assert member.events.list_activities(status="draft")["items"] == []


def test_cancelling_tells_everyone_registered(events):
    with events.organiser() as organiser:
        created = organiser.events.create_activity(**activity(capacity=1))
        organiser.events.publish_activity(activity_id=created["activity_id"])
        with events.member("p-a") as a, events.member("p-b") as b:
            a.events.register(activity_id=created["activity_id"])
            b.events.register(activity_id=created["activity_id"])
        with pytest.raises(ValidationError):
            organiser.events.cancel_activity(activity_id=created["activity_id"], reason="")
        cancelled = organiser.events.cancel_activity(activity_id=created["activity_id"], reason="暴雨预警")
        with pytest.raises(Conflict):
            organiser.events.cancel_activity(activity_id=created["activity_id"], reason="再次")
    assert cancelled["status"] == "cancelled"
    [event] = events.payloads("activity_cancelled")
    assert (event["reason"], event["registrant_ids"]) == ("暴雨预警", ["p-a", "p-b"])
