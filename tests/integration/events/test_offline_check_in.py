"""Offline check-in over the broker: a device downloads the roster, scans offline, and uploads its
scans when the network is back — uploaded twice, they check in once and are answered the same; the
same code at a second door is a conflict kept and reported; bad batches get typed errors."""

import uuid
from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_waiter

from alliance_events.domain import check_in as check_ins
from alliance_platform.errors import Conflict, ValidationError
from tests.integration.events.conftest import START
from tests.integration.events.test_registration import published
from tests.support.helpers import wait_until


def _scan(code, at, door):
    return {"nonce": str(uuid.uuid4()), "code": code, "scanned_at": at.isoformat(), "door": door}


def test_scans_uploaded_twice_check_in_once_and_a_second_door_is_a_conflict(events):
    activity_id = published(events, capacity=3)
    codes = {}
    for person in ("came", "away"):
        with events.member(person) as member:
            codes[person] = member.events.register(activity_id=activity_id)["check_in_code"]
    with events.organiser() as organiser:
        east = organiser.events.download_roster(activity_id=activity_id, device_id="pad-east")
        organiser.events.download_roster(activity_id=activity_id, device_id="pad-west")
    assert {e["code_hash"] for e in east["entries"]} == {
        check_ins.code_hash(east["hash_key"], code) for code in codes.values()
    }
    assert not set(codes.values()) & {value for e in east["entries"] for value in e.values()}
    events.time.advance(days=7, minutes=5)  # the activity has started; the venue has no network
    at = START + timedelta(days=7, minutes=1)
    scans = [_scan(codes["came"], at, "east")]
    events.time.advance(minutes=30)  # the network is back
    with events.organiser() as organiser:
        with entrypoint_waiter(events.container, "run_schedule"):
            pass
        first = organiser.events.upload_scans(activity_id=activity_id, device_id="pad-east", scans=scans)
        second = organiser.events.upload_scans(activity_id=activity_id, device_id="pad-east", scans=scans)
        west = organiser.events.upload_scans(
            activity_id=activity_id, device_id="pad-west", scans=[_scan(codes["came"], at, "west")]
        )
        report = organiser.events.scan_report(activity_id=activity_id)
        with pytest.raises(Conflict, match="has not downloaded"):
            organiser.events.upload_scans(activity_id=activity_id, device_id="pad-north", scans=scans)
        with pytest.raises(ValidationError):
            organiser.events.upload_scans(activity_id=activity_id, device_id="pad-east", scans=[])
        with pytest.raises(ValidationError):
            organiser.events.upload_scans(
                activity_id=activity_id, device_id="pad-east", scans=[{**scans[0], "nonce": "not-a-uuid"}]
            )
        done = organiser.events.complete_activity(activity_id=activity_id)
    assert first == second
    assert [(r["outcome"], r["person_id"]) for r in first["results"]] == [("checked_in", "came")]
    [conflict] = west["results"]
    assert conflict["outcome"] == "conflict" and "east" in conflict["reason"]
    assert report["counts"] == {"checked_in": 1, "already_checked_in": 0, "conflict": 1, "rejected": 0}
    assert [e["person_id"] for e in events.payloads("checked_in")] == ["came"]
    assert events.payloads("checked_in")[0]["checked_in_at"] == at.isoformat()
    assert (done["attended"], done["no_shows"]) == (1, 1)
    [recorded] = events.payloads("no_shows_recorded")
    assert [n["person_id"] for n in recorded["no_shows"]] == ["away"]


def test_a_no_show_at_a_completed_activity_costs_the_party_member_a_point_in_the_registry(events, registry, client):
    """Over the broker, from one service to the other: the scan uploaded later gives the member who
    came +2 (checked_in), completing the activity costs the one who did not come -1 (no_shows_recorded)."""
    with client() as admin:
        came, away = (
            admin.registry.register_person(name=name, mobile=mobile, district_id="outlets")["person_id"]
            for name, mobile in (("王建国", "13912340101"), ("李红梅", "13912340102"))
        )
        for person_id in (came, away):
            admin.registry.register_party_member(
                person_id=person_id, branch_id="branch_outlets", joined_on="2010-07-01"
            )
    activity_id = published(events, capacity=3)
    codes = {}
    for person_id in (came, away):
        with events.member(person_id) as member:
            codes[person_id] = member.events.register(activity_id=activity_id)["check_in_code"]
    with events.organiser() as organiser:
        organiser.events.download_roster(activity_id=activity_id, device_id="pad-east")
    events.time.advance(days=7, minutes=30)
    with entrypoint_waiter(registry, "handle_events_checked_in"):
        with events.organiser() as organiser:
            scan = _scan(codes[came], START + timedelta(days=7, minutes=5), "east")
            organiser.events.upload_scans(activity_id=activity_id, device_id="pad-east", scans=[scan])
    with events.organiser() as organiser:  # the timer starts it: an activity is completed once under way
        wait_until(
            lambda: organiser.events.get_activity(activity_id=activity_id)["status"] == "in_progress",
            timeout=60,
            message="the activity started",
        )
    with entrypoint_waiter(registry, "handle_events_no_shows_recorded") as deducted:
        with events.organiser() as organiser:
            organiser.events.complete_activity(activity_id=activity_id)
    assert len(deducted.get()["recorded"]) == 1
    with client() as admin:
        ledgers = {p: admin.registry.member_points(person_id=p) for p in (came, away)}
    assert [(e["rule"], e["points"]) for e in ledgers[came]["items"]] == [("attended_activity", 2)]
    assert [(e["rule"], e["points"], e["source"]) for e in ledgers[away]["items"]] == [
        ("no_show", -1, "events.no_shows_recorded")
    ]
    assert ledgers[away]["balance"] == -1
