"""Organisations over the registry's RPC: only an administrator changes them (everyone verified
reads them), every bad input is a typed error that changes nothing, and each change is published
as its event with the organisation's version."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from tests.use_cases.registry.samples import person_fields

BANK = {"organisation_id": "rural_bank", "type": "bank", "name": "德州农商银行", "short_name": "农商银行"}
COMMANDS = (
    ("add_organisation", BANK),
    ("rename_organisation", {"organisation_id": "alliance", "name": "新名"}),
    ("move_organisation", {"organisation_id": "branch_aodele", "parent_id": None}),
    ("retire_organisation", {"organisation_id": "debai_group", "reason": "x"}),
    ("set_organisation_liaisons", {"organisation_id": "alliance", "liaison_ids": []}),
)


@pytest.mark.parametrize(("method", "arguments"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_only_an_administrator_changes_organisations(registry, method, arguments):
    for caller in (
        registry.staff(),
        registry.staff(roles=("branch_secretary",)),
        registry.staff(district="*", roles=("staff",)),
    ):
        with caller as someone:
            with pytest.raises(Forbidden):
                getattr(someone.registry, method)(**arguments)
    assert [event for event in registry.event_types() if event.startswith("organisation_")] == []


def test_changes_are_published_in_order_with_their_versions_and_anyone_reads_them(registry):
    with registry.admin() as admin:
        liaison = admin.registry.register_person(**person_fields(roles=["department_liaison"]))["person_id"]
        admin.registry.add_organisation(**BANK, liaison_ids=[liaison])
        admin.registry.move_organisation(organisation_id="rural_bank", parent_id="alliance", expected_version=1)
        with pytest.raises(Conflict, match="version 2"):
            admin.registry.rename_organisation(organisation_id="rural_bank", name="x", expected_version=1)
        with pytest.raises(ValidationError):
            admin.registry.add_organisation(**{**BANK, "organisation_id": "x" * 101})
        with pytest.raises(ValidationError):
            admin.registry.set_organisation_liaisons(organisation_id="rural_bank", liaison_ids=[liaison] * 11)
        admin.registry.set_organisation_liaisons(organisation_id="rural_bank", liaison_ids=[])
        admin.registry.retire_organisation(organisation_id="rural_bank", reason="撤销")
    published = registry.wait_published("organisation_retired")
    assert published[0]["version"] == 4
    versions = [(e, p["version"]) for e, p in registry.events() if e.startswith("organisation_")]
    assert versions == [
        ("organisation_added", 1),
        ("organisation_moved", 2),
        ("organisation_liaisons_changed", 3),
        ("organisation_retired", 4),
    ]
    with registry.merchant("00000000-0000-4000-8000-000000000001") as shop:
        seen = shop.registry.get_organisation(organisation_id="rural_bank")
        assert (seen["status"], seen["parent_id"], seen["version"]) == ("retired", "alliance", 4)
    with registry.staff() as staff:
        history = staff.registry.organisation_history(organisation_id="rural_bank")["items"]
        assert [v["change"] for v in history] == ["added", "moved", "liaisons_changed", "retired"]
        assert history[1]["before"]["parent_id"] is None and history[1]["after"]["parent_id"] == "alliance"
