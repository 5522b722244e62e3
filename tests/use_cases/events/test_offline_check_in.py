"""Offline check-in on a real database: a device downloads a roster (codes as HMACs, never the
codes), checks people in without network, and uploads its scans later — deduplicated by nonce,
conflicts (the same code at two doors) kept and reported, rejections with their reason, attendance
once however many devices scanned a code."""

import uuid
from datetime import timedelta

import eventlet
from marshmallow import ValidationError as BadInput

from alliance_events import timers, use_cases
from alliance_events.domain import check_in as check_ins
from alliance_events.service import EventsService
from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.support.helpers import wait_until
from tests.use_cases.events.conftest import activity, member, organiser
from tests.use_cases.events.test_meetings import MEMBERS, OUTLETS, Register, _plan, secretary
from tests.use_cases.events.test_meetings import _code as _invitee_code


def _activity_with(events, people=("a", "b", "c")):
    draft = events.call(use_cases.create_activity, organiser(), **activity(capacity=2))
    activity_id = str(events.call(use_cases.publish_activity, organiser(), activity_id=str(draft["id"]))["id"])
    made = {p: events.call(use_cases.register, member(p), activity_id=activity_id) for p in people}
    return activity_id, made


def _code(events, registration_id):
    return events.query("SELECT check_in_code FROM registrations WHERE id = %s", (registration_id,))[0]["check_in_code"]


def _scan(code, at, door=None, nonce=None):
    scan = {"nonce": str(nonce or uuid.uuid4()), "code": code, "scanned_at": at.isoformat()}
    if door is not None:
        scan["door"] = door
    return scan


def _at_the_door(events):
    """The activity's day: it started a minute ago (the schedule moved it)."""
    events.advance(days=7, minutes=1)
    events.tick(timers.run_schedule)
    return events.now


def test_the_roster_holds_the_codes_hmacs_and_the_seated_but_never_a_code(events):
    activity_id, made = _activity_with(events)  # a, b seated; c on the waiting list
    roster = events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id="door-east")
    by_holder = {e["holder"]: e for e in roster["entries"]}
    assert set(by_holder) == {str(made["a"]["id"]), str(made["b"]["id"])}, "a waiter has no door"
    code = made["a"]["check_in_code"]
    assert by_holder[str(made["a"]["id"])]["code_hash"] == check_ins.code_hash(roster["hash_key"], code)
    assert code not in repr(roster)
    again = events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id="door-west")
    assert (again["hash_key"], again["version"]) == (roster["hash_key"], roster["version"])
    events.call(use_cases.cancel_registration, member("b"), registration_id=str(made["b"]["id"]))
    changed = events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id="door-east")
    assert changed["version"] != roster["version"], "a cancelled registration changes the roster"


def test_an_upload_twice_checks_in_once_and_answers_the_same(events):
    activity_id, made = _activity_with(events, ("a", "b"))
    events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id="door-east")
    now = _at_the_door(events)
    scans = [_scan(made["a"]["check_in_code"].lower(), now - timedelta(minutes=1))]
    events.advance(minutes=30)  # the network comes back
    first = events.call(
        use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="door-east", scans=scans
    )
    assert [(r["outcome"], r["holder"]) for r in first["results"]] == [("checked_in", str(made["a"]["id"]))]
    assert events.query("SELECT status, checked_in_at FROM registrations WHERE person_id = 'a'") == [
        {"status": "attended", "checked_in_at": now - timedelta(minutes=1)}
    ]
    before = events.snapshot()
    second = events.call(
        use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="door-east", scans=scans
    )
    assert second == first
    assert events.snapshot() == before, "a repeated upload changes nothing"
    assert len(events.payloads("checked_in")) == 1


def test_the_same_code_at_two_doors_is_a_conflict_kept_and_reported_and_attendance_counted_once(events):
    activity_id, made = _activity_with(events, ("a", "b"))
    for device in ("door-east", "door-west"):
        events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id=device)
    now = _at_the_door(events)
    code = made["a"]["check_in_code"]
    events.advance(minutes=30)  # the network comes back
    west = events.call(
        use_cases.upload_scans,
        organiser(),
        activity_id=activity_id,
        device_id="door-west",
        scans=[_scan(code, now + timedelta(minutes=5)), _scan(code, now + timedelta(minutes=6))],
    )
    # The east door scanned it earlier but uploads later: the first to upload checked them in.
    east = events.call(
        use_cases.upload_scans,
        organiser(),
        activity_id=activity_id,
        device_id="door-east",
        scans=[_scan(code, now + timedelta(minutes=2))],
    )
    assert [r["outcome"] for r in west["results"]] == ["checked_in", "already_checked_in"]
    [conflict] = east["results"]
    assert conflict["outcome"] == "conflict" and "door-west" in conflict["reason"]
    assert east["counts"] == {"checked_in": 0, "already_checked_in": 0, "conflict": 1, "rejected": 0}
    assert len(events.payloads("checked_in")) == 1
    report = events.call(use_cases.scan_report, organiser(), activity_id=activity_id)
    assert report["counts"] == {"checked_in": 1, "already_checked_in": 1, "conflict": 1, "rejected": 0}
    assert [(s["outcome"], s["door"]) for s in report["scans"]] == [
        ("conflict", "door-east"),
        ("already_checked_in", "door-west"),
    ]
    done = events.call(use_cases.complete_activity, organiser(), activity_id=activity_id)
    assert (done["attended"], done["no_shows"]) == (1, 1)


def test_unknown_cancelled_future_and_early_scans_are_rejected_with_the_reason(events):
    activity_id, made = _activity_with(events, ("a", "b", "c"))  # c waits
    events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id="door-east")
    events.call(use_cases.cancel_registration, member("b"), registration_id=str(made["b"]["id"]))
    now = _at_the_door(events)
    waiter_code = _code(events, str(made["c"]["id"]))
    # c was offered b's seat, and the offer ended unanswered at the start: c's code is no ticket.
    [c] = events.query("SELECT status FROM registrations WHERE person_id = 'c'")
    scans = [
        _scan("ZZZZ9999", now),
        _scan(made["b"]["check_in_code"], now),
        _scan(made["a"]["check_in_code"], now + timedelta(minutes=10)),  # the device's clock ahead
        _scan(made["a"]["check_in_code"], now - timedelta(days=1)),  # before the door opened
        _scan(waiter_code, now),
    ]
    answer = events.call(
        use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="door-east", scans=scans
    )
    reasons = [r["reason"] for r in answer["results"]]
    assert [r["outcome"] for r in answer["results"]] == ["rejected"] * len(scans)
    assert reasons[0] == "unknown code"
    assert reasons[1] == "the registration is cancelled"
    assert "in the future" in reasons[2] and "outside the check-in window" in reasons[3]
    assert (c["status"], reasons[4]) == ("waitlisted", "the registration is waitlisted")
    assert events.query("SELECT count(*) AS n FROM registrations WHERE status = 'attended'") == [{"n": 0}]
    assert events.payloads("checked_in") == []


def test_the_scan_report_comes_a_page_at_a_time_conflicts_first_and_by_outcome_if_asked(events):
    activity_id, made = _activity_with(events, ("a", "b"))
    for device in ("door-east", "door-west"):
        events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id=device)
    now = _at_the_door(events)
    code = made["a"]["check_in_code"]
    unknown = [_scan(f"ZZZZ{n:04d}", now + timedelta(seconds=n)) for n in range(5)]
    events.call(
        use_cases.upload_scans,
        organiser(),
        activity_id=activity_id,
        device_id="door-west",
        scans=[_scan(code, now), _scan(code, now + timedelta(seconds=30)), *unknown],
    )
    events.call(  # the same code at the other door, scanned before: a conflict
        use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="door-east", scans=[_scan(code, now)]
    )
    whole = events.call(use_cases.scan_report, organiser(), activity_id=activity_id, limit=200)
    assert [s["outcome"] for s in whole["scans"]] == ["conflict"] + ["rejected"] * 5 + ["already_checked_in"]
    assert whole["next_cursor"] is None
    pages, cursor = [], None
    while True:
        found = events.call(use_cases.scan_report, organiser(), activity_id=activity_id, limit=3, cursor=cursor)
        assert len(found["scans"]) <= 3 and found["counts"] == whole["counts"]
        pages.append(found["scans"])
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [s for p in pages for s in p] == whole["scans"], "the pages together are the whole report, in order"
    rejected = events.call(use_cases.scan_report, organiser(), activity_id=activity_id, outcome="rejected")
    assert [(s["outcome"], s["reason"]) for s in rejected["scans"]] == [("rejected", "unknown code")] * 5
    times = [s["scanned_at"] for s in rejected["scans"]]
    assert times == sorted(times) and len(set(times)) == 5, "by the time scanned"
    events.refused(BadInput, use_cases.scan_report, organiser(), activity_id=activity_id, outcome="checked_in")
    events.refused(BadInput, use_cases.scan_report, organiser(), activity_id=activity_id, limit=201)
    events.refused(ValidationError, use_cases.scan_report, organiser(), activity_id=activity_id, cursor="bm9wZQ")


def test_a_device_without_the_roster_an_outsider_and_a_bad_batch_are_refused_changing_nothing(events):
    activity_id, made = _activity_with(events, ("a",))
    now = _at_the_door(events)
    scans = [_scan(made["a"]["check_in_code"], now)]
    events.refused(Conflict, use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="x", scans=scans)
    events.refused(
        Forbidden, use_cases.download_roster, organiser("aodele", "li"), activity_id=activity_id, device_id="x"
    )
    events.refused(BadInput, use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="x", scans=[])
    too_many = [_scan("ABCD2345", now) for _ in range(501)]
    events.refused(
        BadInput, use_cases.upload_scans, organiser(), activity_id=activity_id, device_id="x", scans=too_many
    )
    events.refused(BadInput, use_cases.download_roster, organiser(), device_id="x")


def test_scans_of_a_completed_activity_are_rejected_as_attendance_closed(events):
    activity_id, made = _activity_with(events, ("a",))
    events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id="door-east")
    now = _at_the_door(events)
    events.call(use_cases.complete_activity, organiser(), activity_id=activity_id)
    answer = events.call(
        use_cases.upload_scans,
        organiser(),
        activity_id=activity_id,
        device_id="door-east",
        scans=[_scan(made["a"]["check_in_code"], now)],
    )
    [result] = answer["results"]
    assert result["outcome"] == "rejected" and "attendance is closed" in result["reason"]
    assert events.query("SELECT status FROM registrations") == [{"status": "no_show"}]


def test_completing_names_the_no_shows_for_the_points_ledger(events):
    activity_id, made = _activity_with(events, ("a", "b"))
    _at_the_door(events)
    events.call(use_cases.check_in, organiser(), activity_id=activity_id, code=made["a"]["check_in_code"])
    events.call(use_cases.complete_activity, organiser(), activity_id=activity_id)
    [recorded] = events.payloads("no_shows_recorded")
    assert recorded["no_shows"] == [
        {"registration_id": str(made["b"]["id"]), "person_id": "b", "merchant_id": None, "district_id": "outlets"}
    ]


# --- a branch meeting's roster: its invitees ---


def test_a_meeting_s_invitees_are_checked_in_offline_and_the_roll_of_meeting_held_says_so(events):
    planned = _plan(events, Register())
    meeting_id = str(planned["id"])
    roster = events.call(use_cases.download_roster, secretary(), meeting_id=meeting_id, device_id="pad-1")
    assert sorted(e["holder"] for e in roster["entries"]) == MEMBERS[OUTLETS]
    events.call(use_cases.excuse_absence, member("m-2"), meeting_id=meeting_id, reason="外出进货")
    at = planned["starts_at"] + timedelta(minutes=2)
    events.now = at + timedelta(minutes=10)
    scans = [_scan(_invitee_code(events, meeting_id, p), at, door="hall") for p in ("m-1", "m-2")]
    answer = events.call(use_cases.upload_scans, secretary(), meeting_id=meeting_id, device_id="pad-1", scans=scans)
    assert [(r["outcome"], r["person_id"]) for r in answer["results"]] == [("checked_in", "m-1"), ("checked_in", "m-2")]
    again = events.call(use_cases.upload_scans, secretary(), meeting_id=meeting_id, device_id="pad-1", scans=scans)
    assert again == answer
    events.call(use_cases.hold_meeting, secretary(), meeting_id=meeting_id)
    [held] = events.payloads("meeting_held")
    assert (held["attended"], held["excused"], held["absent"]) == (["m-1", "m-2"], [], ["m-3", "m-4"])
    late = [_scan(_invitee_code(events, meeting_id, "m-3"), at, door="hall")]
    [result] = events.call(use_cases.upload_scans, secretary(), meeting_id=meeting_id, device_id="pad-1", scans=late)[
        "results"
    ]
    assert result["outcome"] == "rejected" and "attendance is closed" in result["reason"]
    events.refused(
        Forbidden, use_cases.upload_scans, secretary("aodele"), meeting_id=meeting_id, device_id="pad-1", scans=late
    )


def test_two_devices_uploading_the_same_code_at_once_check_it_in_once(events, use_case):
    """The second upload waits for the activity the first holds, then finds the holder checked in."""
    activity_id, made = _activity_with(events, ("a",))
    for device in ("door-east", "door-west"):
        events.call(use_cases.download_roster, organiser(), activity_id=activity_id, device_id=device)
    now = _at_the_door(events)
    code = made["a"]["check_in_code"]
    schema = EventsService.upload_scans.rpc_schema
    east = schema.load({"activity_id": activity_id, "device_id": "door-east", "scans": [_scan(code, now)]})
    answers = {}

    def west():
        answers["west"] = events.call(
            use_cases.upload_scans,
            organiser(),
            activity_id=activity_id,
            device_id="door-west",
            scans=[_scan(code, now)],
        )

    with use_case("events", caller=organiser(), now=events.now, settings=events.settings) as ctx:
        answers["east"] = use_cases.upload_scans(ctx, east)
        waiter = eventlet.spawn(west)
        wait_until(
            lambda: events.query(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ),
            message="the second upload waiting on the activity's lock",
        )
    waiter.wait()
    assert [r["outcome"] for r in answers["east"]["results"]] == ["checked_in"]
    assert [r["outcome"] for r in answers["west"]["results"]] == ["conflict"]
    assert len(events.payloads("checked_in")) == 1
