"""The four links (四联) over HTTP, as another system meets them from the OpenAPI document alone:
organisations added, renamed, retired and their history read; a branch's meeting planned and
listed; a floating member's transfer started (safely retried with an Idempotency-Key) and completed
by the receiving branch; an activity's roster downloaded to a door device, its scans uploaded twice
and the scan report read a page at a time. Registry, events and the gateway run in this process on
the real broker and databases; every refusal is a problem document."""

import uuid
from datetime import timedelta

import pytest

from alliance_registry.domain.days import today
from tests.integration.events.conftest import START, activity
from tests.integration.events.test_meetings import _meeting
from tests.integration.gateway.test_gateway import _problem
from tests.use_cases.registry.samples import floating_fields


@pytest.fixture
def links(service_harness, gateway):
    """(gateway, registry harness, events harness), the services' clocks at START."""
    started = {name: service_harness(name, START) for name in ("registry", "events")}
    return gateway(), started["registry"], started["events"]


def _as(gw, roles, districts, subject=None):
    return gw.session(gw.token("staff", roles, districts, subject=subject or f"staff-{uuid.uuid4().hex[:8]}"))


def _ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def _party_member(gw, admin, name, mobile, branch_id, district, floating=None):
    person = _ok(admin.post(f"{gw.url}/v1/people", json={"name": name, "mobile": mobile, "district_id": district}))
    membership = {"branch_id": branch_id, "joined_on": "2012-06-30"}
    if floating:
        membership["floating"] = floating
    _ok(admin.post(f"{gw.url}/v1/people/{person['person_id']}/party-membership", json=membership))
    return person["person_id"]


def test_an_administrator_keeps_the_organisations_over_http_and_others_only_read_them(links):
    gw, _registry, _events = links
    admin, staff = gw.session(), _as(gw, ["staff"], ["outlets"])
    url = f"{gw.url}/v1/organisations"
    bank = {
        "organisation_id": "dezhou_bank_tianqu",
        "type": "bank",
        "name": "德州银行天衢新区支行",
        "short_name": "德州银行",
    }
    added = _ok(admin.post(url, json=bank))
    assert (added["organisation_id"], added["version"], added["status"]) == ("dezhou_bank_tianqu", 1, "active")
    assert "dezhou_bank_tianqu" in [o["organisation_id"] for o in _ok(staff.get(url, params={"type": "bank"}))]
    renamed = _ok(admin.post(f"{url}/dezhou_bank_tianqu/name", json={"name": "德州银行天衢支行", "reason": "更名"}))
    assert (renamed["name"], renamed["version"]) == ("德州银行天衢支行", 2)
    _problem(
        admin.post(f"{url}/dezhou_bank_tianqu/name", json={"name": "又一名", "expected_version": 1}), 409, "conflict"
    )
    _ok(admin.post(f"{url}/dezhou_bank_tianqu/retire", json={"reason": "合作结束"}))
    assert "dezhou_bank_tianqu" not in [o["organisation_id"] for o in _ok(staff.get(url, params={"type": "bank"}))]
    everyone = _ok(staff.get(url, params={"type": "bank", "include_retired": "true"}))
    assert [o["status"] for o in everyone if o["organisation_id"] == "dezhou_bank_tianqu"] == ["retired"]
    history = _ok(staff.get(f"{url}/dezhou_bank_tianqu/history"))
    assert [(h["version"], h["change"]) for h in history["items"]] == [(1, "added"), (2, "renamed"), (3, "retired")]

    assert (
        "admin" in _problem(staff.post(url, json={**bank, "organisation_id": "other_bank"}), 403, "forbidden")["detail"]
    )
    bad = _problem(
        admin.post(url, json={**bank, "organisation_id": "Bad Id!", "type": "teahouse"}), 400, "validation_error"
    )
    assert set(bad["errors"]) == {"organisation_id", "type"}
    _problem(admin.post(url, json=bank), 409, "conflict")  # the id is taken
    _problem(staff.get(f"{url}/nowhere_at_all"), 404, "not_found")
    _problem(staff.get(url, params={"parent_id": "nowhere_at_all"}), 400, "validation_error")
    assert len(_ok(staff.get(f"{url}/dezhou_bank_tianqu/history"))["items"]) == 3, "the refusals changed nothing"


def test_a_branch_meeting_and_a_floating_members_transfer_over_http(links):
    gw, registry, _events = links
    admin = gw.session()
    members = sorted(
        _party_member(gw, admin, f"党员{n}", f"1381234{n:04d}", "branch_outlets", "outlets") for n in range(2)
    )
    secretary = _as(gw, ["branch_secretary"], ["outlets"])
    plan = _meeting()
    planned = _ok(secretary.post(f"{gw.url}/v1/meetings", json=plan))
    assert sorted(a["person_id"] for a in planned["attendees"]) == members
    listed = _ok(secretary.get(f"{gw.url}/v1/meetings", params={"branch_id": "branch_outlets"}))
    assert [m["meeting_id"] for m in listed["items"]] == [planned["meeting_id"]]
    unknown = _problem(
        secretary.get(f"{gw.url}/v1/meetings", params={"branch_id": "branch_nowhere"}), 400, "validation_error"
    )
    assert "branch_id" in unknown["errors"]
    stranger = _as(gw, ["branch_secretary"], ["aodele"])
    _problem(stranger.post(f"{gw.url}/v1/meetings", json=plan), 403, "forbidden")

    arrived = today(registry.now()) - timedelta(days=190)
    person_id = _party_member(
        gw, admin, "陈浙商", "13912340042", "branch_wholesale_city", "wholesale_city", floating_fields(arrived)
    )
    wholesale = _as(gw, ["branch_secretary"], ["wholesale_city"])
    start = {"to_branch_id": "branch_aodele", "letter_no": "义稠党介〔2026〕017号"}
    transfers = f"{gw.url}/v1/people/{person_id}/transfers"
    started = _ok(wholesale.post(transfers, json=start, headers={"Idempotency-Key": "letter-017"}))
    again = _ok(wholesale.post(transfers, json=start, headers={"Idempotency-Key": "letter-017"}))
    assert again == started, "a retried request is answered again, not a second transfer"
    _problem(wholesale.post(transfers, json=start), 409, "conflict")  # one is under way
    done_url = f"{gw.url}/v1/transfers/{started['transfer_id']}"
    _problem(wholesale.post(f"{done_url}/decline", json={"reason": "lost_interest"}), 400, "validation_error")
    _problem(_as(gw, ["branch_secretary"], ["outlets"]).post(f"{done_url}/complete", json={}), 403, "forbidden")
    aodele = _as(gw, ["branch_secretary"], ["aodele"])
    done = _ok(aodele.post(f"{done_url}/complete", json={}))
    assert done["status"] == "completed"
    received = _ok(aodele.get(f"{gw.url}/v1/transfers", params={"to_branch_id": "branch_aodele"}))
    assert [t["transfer_id"] for t in received["items"]] == [started["transfer_id"]]
    moved = _ok(admin.get(f"{gw.url}/v1/people/{person_id}"))["party_member"]
    assert (moved["branch_id"], moved["transfer_state"]) == ("branch_aodele", "completed")


def test_a_door_device_checks_in_offline_and_uploads_its_scans_over_http(links):
    gw, _registry, events = links
    organiser = _as(gw, ["staff"], ["outlets"])
    created = _ok(organiser.post(f"{gw.url}/v1/activities", json=activity(capacity=3)))
    activity_id = _ok(organiser.post(f"{gw.url}/v1/activities/{created['activity_id']}/publish", json={}))[
        "activity_id"
    ]
    codes = []
    for n in range(2):
        member = _as(gw, ["party_member"], ["outlets"], subject=f"member-{n}")
        codes.append(_ok(member.post(f"{gw.url}/v1/activities/{activity_id}/registrations", json={}))["check_in_code"])
    roster = _ok(
        organiser.post(f"{gw.url}/v1/check-in/rosters", json={"activity_id": activity_id, "device_id": "pad-east"})
    )
    assert len(roster["entries"]) == 2 and all(code not in str(roster) for code in codes), "hashes, never the codes"

    door = START + timedelta(days=7, minutes=5)
    events.time.set(door)
    scans = [
        {"nonce": str(uuid.uuid4()), "code": codes[0], "scanned_at": door.isoformat()},
        {"nonce": str(uuid.uuid4()), "code": codes[0], "scanned_at": (door + timedelta(minutes=1)).isoformat()},
        {"nonce": str(uuid.uuid4()), "code": "ZZZZ9999", "scanned_at": door.isoformat()},
    ]
    upload = {"activity_id": activity_id, "device_id": "pad-east", "scans": scans}
    first = _ok(organiser.post(f"{gw.url}/v1/check-in/scans", json=upload))
    assert [r["outcome"] for r in first["results"]] == ["checked_in", "already_checked_in", "rejected"]
    assert _ok(organiser.post(f"{gw.url}/v1/check-in/scans", json=upload)) == first, "an upload twice: the same answer"
    _problem(organiser.post(f"{gw.url}/v1/check-in/scans", json={**upload, "scans": []}), 400, "validation_error")
    _problem(
        organiser.post(f"{gw.url}/v1/check-in/scans", json={**upload, "device_id": "pad-never-downloaded"}),
        409,
        "conflict",
    )

    report_url = f"{gw.url}/v1/check-in/scans"
    page = _ok(organiser.get(report_url, params={"activity_id": activity_id, "limit": 1}))
    assert page["counts"] == {"checked_in": 1, "already_checked_in": 1, "conflict": 0, "rejected": 1}
    assert [s["outcome"] for s in page["scans"]] == ["rejected"] and page["next_cursor"]
    rest = _ok(
        organiser.get(report_url, params={"activity_id": activity_id, "limit": 1, "cursor": page["next_cursor"]})
    )
    assert [s["outcome"] for s in rest["scans"]] == ["already_checked_in"] and rest["next_cursor"] is None
    _problem(organiser.get(report_url, params={"activity_id": activity_id, "outcome": "lost"}), 400, "validation_error")
    _problem(organiser.get(report_url, params={"activity_id": activity_id, "limit": 500}), 400, "validation_error")
    _problem(
        _as(gw, ["party_member"], ["outlets"]).get(report_url, params={"activity_id": activity_id}), 403, "forbidden"
    )
