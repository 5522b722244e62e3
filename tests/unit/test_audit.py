"""The audit's rules (alliance_platform/audit.py): which entities a change names, and what of its
input is kept — bounded, and never a secret."""

import json
import uuid
from datetime import UTC, datetime

from marshmallow import Schema, fields

from alliance_platform.audit import (
    MAX_ITEMS,
    MAX_REFERENCES,
    MAX_SUMMARY_CHARS,
    MAX_TEXT,
    SECRET,
    Audit,
    did_work,
    references,
    summary,
)
from alliance_platform.config import installed_services, service_class


def test_fields_named_entity_id_name_that_entity_in_input_and_result():
    cmd = {"ticket_id": "t-1", "text": "called back", "district_id": "aodele"}
    result = {"ticket_id": "t-1", "merchant_id": "m-1", "responsible_id": "p-9", "status": "accepted"}
    assert references(cmd, result) == ["ticket:t-1", "district:aodele", "merchant:m-1", "person:p-9"]


def test_lists_of_ids_and_nested_results_are_followed():
    cmd = {"person_ids": ["p-1", "p-2"], "merchant_ids": [], "activity_id": uuid.UUID(int=1)}
    result = {
        "cancelled": {"registration_id": "r-1", "person_id": "p-1"},
        "promoted": {"registration_id": "r-2", "merchant_id": "m-3"},
        "items": [{"honour_id": 7}],
    }
    assert references(cmd, result) == [
        "person:p-1",
        "person:p-2",
        f"activity:{uuid.UUID(int=1)}",
        "registration:r-1",
        "registration:r-2",
        "merchant:m-3",
        "honour:7",
    ]


def test_people_named_by_their_part_are_people():
    for name in ("owner_id", "assignee_id", "requester_id", "responsible_id", "proposed_id"):
        assert references({name: "p-1"}) == ["person:p-1"], name


def test_ids_that_name_no_entity_are_left_out():
    data = {"correlation_id": "c", "event_id": "e", "request_id": "r", "item_id": 3, "parent_id": "x", "id": "y"}
    assert references(data) == []
    assert references({"merchant_id": None, "person_id": "", "ticket_id": True}) == []


def test_a_method_corrects_the_rule():
    rule = Audit(references={"parent_id": "ticket", "district_id": None})
    assert references({"parent_id": "t-0", "district_id": "aodele", "ticket_id": "t-1"}, rule=rule) == [
        "ticket:t-0",
        "ticket:t-1",
    ]


def test_references_are_bounded():
    many = {"person_ids": [f"p-{n}" for n in range(MAX_REFERENCES * 3)]}
    assert len(references(many)) == MAX_REFERENCES


def test_every_command_of_every_service_is_audited_by_the_default_rule_unless_it_says():
    """The rule is declared on the methods: commands carry one, reads none."""
    for name in installed_services():
        cls = service_class(name)
        for attr in dir(cls):
            method = getattr(cls, attr)
            if not hasattr(method, "rpc_schema"):
                continue
            if method.rpc_read_only:
                assert method.rpc_audit is None, f"{name}.{attr}"
            else:
                assert isinstance(method.rpc_audit, Audit), f"{name}.{attr}"


class _Person(Schema):
    name = fields.String()
    id_card_no = fields.String()
    pin = fields.String(metadata={SECRET: True})


class _Register(Schema):
    name = fields.String()
    national_no = fields.String(metadata={SECRET: True})  # marked: left out whatever its name
    mobile = fields.String()
    guardian = fields.Nested(_Person)
    variables = fields.Dict()


def test_secret_fields_are_left_out_at_every_depth():
    data = {
        "name": "王小明",
        "national_no": "110101199003074514",
        "mobile": "13900001111",
        "guardian": {"name": "王大明", "id_card_no": "110101196001014512", "pin": "1234"},
        "variables": {"code": "123456", "shop": "老王面馆"},
    }
    kept = summary(data, _Register())
    assert kept == {
        "name": "王小明",
        "mobile": "13900001111",
        "guardian": {"name": "王大明"},
        "variables": {"shop": "老王面馆"},
    }
    text = json.dumps(kept, ensure_ascii=False)
    assert "123456" not in text and "4514" not in text and "1234" not in text


def test_credentials_tokens_and_passwords_are_left_out_whatever_their_exact_name():
    data = {
        "credential": "sys-cred-123",
        "subject_token": "eyJ...",
        "new_password": "hunter2",
        "client_secret": "s",
        "system_id": "miniprogram",
        "credit_code": "91371400MA3C000000",
    }
    assert summary(data) == {"system_id": "miniprogram", "credit_code": "91371400MA3C000000"}


def test_an_id_card_number_in_free_text_is_masked():
    kept = summary({"text": "his card 11010119900307451X, call him"})
    assert kept == {"text": "his card 110***********451X, call him"}


def test_a_method_leaves_fields_out():
    assert summary({"roster": "base64…", "district_id": "aodele"}, None, Audit(omit=("roster",))) == {
        "district_id": "aodele"
    }


def test_the_summary_is_bounded():
    long = "字" * (MAX_TEXT * 5)
    kept = summary(
        {
            "text": long,
            "tags": [f"t{n}" for n in range(50)],
            "deep": {"a": {"b": {"c": {"d": 1}}}},
            "at": datetime(2026, 12, 1, tzinfo=UTC),
            "blob": b"\x00" * 10,
        }
    )
    assert kept["text"].startswith("字" * MAX_TEXT) and kept["text"].endswith(f"({MAX_TEXT * 5} characters)")
    assert len(kept["tags"]) == MAX_ITEMS + 1 and kept["tags"][-1] == "… 50 items"
    assert kept["deep"] == {"a": {"b": "<dict>"}}
    assert kept["at"] == "2026-12-01 00:00:00+00:00" and kept["blob"] == "<10 bytes>"
    huge = summary({f"field_{n}": "x" * MAX_TEXT for n in range(100)})
    assert set(huge) == {"_fields", "_truncated"} and len(json.dumps(huge)) < MAX_SUMMARY_CHARS * 2


def test_a_timer_is_recorded_only_when_its_result_reports_work():
    for idle in (0, None, {}, [], {"sent": 0, "failed": 0}, False):
        assert not did_work(idle), idle
    for busy in (1, {"sent": 0, "failed": 2}, ["x"], {"registry": {"n": 3}}, True):
        assert did_work(busy), busy
