"""What a caller sends wrong gets a prompt ``ValidationError`` naming the field, and writes nothing:
series longer than the limit (however far ``until`` lies), times outside the alliance's years,
lists and texts beyond their bounds, unknown districts, roles and audiences."""

from datetime import date, timedelta

import pytest

from alliance_platform.errors import ValidationError
from tests.integration.events.conftest import START, activity
from tests.support.helpers import query

FIRST_DAY = (START + timedelta(days=7)).date()  # the day the activity() of the fixtures starts


def _activities(events):
    return query(events.database, "SELECT count(*) AS n FROM activities")[0]["n"]


@pytest.mark.parametrize(
    "weekdays, until",
    [
        (list(range(7)), "9999-12-31"),  # past the calendar's last year if the dates were generated
        (list(range(7)), (FIRST_DAY + timedelta(days=200)).isoformat()),  # 201 dates
        ([2], date(2031, 1, 1).isoformat()),  # one a week, four years and more
    ],
)
def test_a_series_beyond_its_limit_is_refused_before_any_date_is_made(events, weekdays, until):
    with events.organiser() as organiser:
        with pytest.raises(ValidationError) as refused:
            organiser.events.create_series(**activity(), weekdays=weekdays, until=until)
    assert "until" in refused.value.fields and "200" in str(refused.value.fields["until"])
    assert _activities(events) == 0


def test_a_series_at_its_limit_is_made(events):
    with events.organiser() as organiser:
        series = organiser.events.create_series(
            **activity(), weekdays=list(range(7)), until=(FIRST_DAY + timedelta(days=199)).isoformat()
        )
    assert len(series["activities"]) == 200 == _activities(events)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ends_at": "9999-12-31T23:00:00+08:00"}, "ends_at"),
        ({"starts_at": "0001-01-01T08:00:00+08:00"}, "starts_at"),
        ({"registration_opens_at": "1900-01-01T08:00:00+08:00"}, "registration_opens_at"),
    ],
)
def test_times_outside_the_alliance_s_years_are_refused(events, change, field):
    with events.organiser() as organiser:
        for method, extra in (("create_activity", {}), ("create_series", {"weekdays": [0], "until": "2026-07-01"})):
            with pytest.raises(ValidationError) as refused:
                getattr(organiser.events, method)(**activity(**change), **extra)
            assert field in refused.value.fields, method
    assert _activities(events) == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"theme_tags": [f"标签{n}" for n in range(10_000)]}, "theme_tags"),  # under RPC_MAX_REQUEST_BYTES
        ({"theme_tags": [f"标签{n}" for n in range(11)]}, "theme_tags"),
        ({"partners": [f"合作单位{n}" for n in range(21)]}, "partners"),
        ({"organisers": ["outlets"] * 11}, "organisers"),
        ({"title": "活" * 201}, "title"),
        ({"venue": "场" * 201}, "venue"),
        ({"description": "述" * 4001}, "description"),
        ({"audience": {"kinds": ["merchants"], "districts": ["atlantis"]}}, "audience"),
        ({"audience": {"kinds": ["merchants"] * 5}}, "audience"),
        ({"quotas": {"atlantis": 1}}, "quotas"),
        ({"quotas": {"outlets": -1}}, "quotas"),
    ],
)
def test_fields_beyond_their_bounds_are_refused(events, change, field):
    with events.organiser() as organiser:
        with pytest.raises(ValidationError) as refused:
            organiser.events.create_activity(**activity(**change))
        assert field in refused.value.fields
        created = organiser.events.create_activity(**activity())
        if field in ("theme_tags", "partners", "title", "venue", "description", "quotas"):
            with pytest.raises(ValidationError) as refused:
                organiser.events.update_activity(activity_id=created["activity_id"], **change)
            assert field in refused.value.fields
        assert organiser.events.get_activity(activity_id=created["activity_id"]) == created | {
            "confirmed": 0,
            "waitlisted": 0,
            "offered": 0,
        }


def test_voter_roles_are_roles_the_alliance_has(events):
    settings = {
        "kind": "party_member_model_store",
        "year": 2026,
        "winners": 1,
        "voter_roles": ["king"],
        "voting_opens_at": START.isoformat(),
        "voting_closes_at": (START + timedelta(days=2)).isoformat(),
    }
    with events.organiser() as organiser:
        with pytest.raises(ValidationError) as refused:
            organiser.events.create_activity(**activity(type="evaluation", evaluation=settings))
    assert "voter_roles" in refused.value.fields["evaluation"]


@pytest.mark.parametrize(
    "filters, field",
    [({"district_id": "atlantis"}, "district_id"), ({"status": "dreaming"}, "status"), ({"type": "party"}, "type")],
)
def test_list_filters_outside_their_values_are_refused(events, filters, field):
    with events.member() as member:
        with pytest.raises(ValidationError) as refused:
            member.events.list_activities(**filters)
    assert field in refused.value.fields
