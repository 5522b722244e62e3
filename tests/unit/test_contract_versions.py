"""Versions of the contract: a change that could break a caller needs a new major version.

``breaking_changes`` is shown on small documents of the shape ``alliance contract`` writes; the
last test holds the generated contract against the released one (docs/contract/released/).
"""

import copy
from pathlib import Path

from alliance_contracts import CONTRACT_VERSION
from alliance_ops import contract

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "svc": {
        "x-contract-version": "1.0.0",
        "x-methods": {
            "submit": {
                "roles": ["staff", "merchant"],
                "arguments": {"$ref": "#/$defs/submit.arguments"},
                "result": {"$ref": "#/$defs/submit.result"},
            }
        },
        "$defs": {
            "submit.arguments": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "maxLength": 200},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "tags": {"type": "array", "maxItems": 10, "items": {"type": "string"}},
                },
            },
            "submit.result": {
                "type": "object",
                "required": ["id", "status"],
                "properties": {"id": {"type": "string"}, "status": {"type": "string", "enum": ["new", "done"]}},
            },
        },
    }
}


def _changed(edit):
    docs = copy.deepcopy(BASE)
    edit(docs["svc"])
    return contract.breaking_changes(BASE, docs)


def _args(doc):
    return doc["$defs"]["submit.arguments"]


def _result(doc):
    return doc["$defs"]["submit.result"]


def test_what_a_caller_can_rely_on_is_not_broken_silently():
    assert _changed(lambda d: d["x-methods"].pop("submit")) == ["svc.submit: method removed"]
    assert _changed(lambda d: _args(d)["properties"].pop("kind")) == ["svc.submit(arguments).kind: argument removed"]
    assert _changed(lambda d: _args(d)["required"].append("kind")) == ["svc.submit(arguments).kind: now required"]
    assert _changed(lambda d: _args(d)["properties"]["title"].update(maxLength=100)) == [
        "svc.submit(arguments).title: maxLength 200 became 100"
    ]
    assert _changed(lambda d: _args(d)["properties"]["kind"].update(enum=["a"])) == [
        "svc.submit(arguments).kind: no longer accepts ['b']"
    ]
    assert _changed(lambda d: _args(d)["properties"]["tags"].update(maxItems=5)) == [
        "svc.submit(arguments).tags: maxItems 10 became 5"
    ]
    assert _changed(lambda d: _result(d)["properties"].pop("status")) == [
        "svc.submit(result).status: result field removed"
    ]
    assert _changed(lambda d: _result(d)["required"].remove("status")) == [
        "svc.submit(result).status: no longer always present"
    ]
    assert _changed(lambda d: _result(d)["properties"]["status"].update(enum=["new", "done", "lost"])) == [
        "svc.submit(result).status: may now be ['lost']"
    ]
    assert _changed(lambda d: d["x-methods"]["submit"].update(roles=["staff"])) == [
        "svc.submit: no longer open to ['merchant']"
    ]


def test_what_only_adds_is_not_breaking():
    def widen(doc):
        _args(doc)["properties"]["note"] = {"type": "string"}  # a new optional argument
        _args(doc)["properties"]["title"]["maxLength"] = 400
        _args(doc)["properties"]["kind"]["enum"].append("c")
        _result(doc)["properties"]["extra"] = {"type": "string"}  # a new result field
        doc["x-methods"]["close"] = {"roles": ["staff"], "arguments": {"$ref": "#/$defs/submit.arguments"}}

    assert _changed(widen) == []


def _major(version):
    return int(str(version).split(".")[0])


def test_the_contract_breaks_the_released_one_only_with_a_new_major_version():
    released, version = contract.released(ROOT)
    assert released, "no released contract: record one with `alliance contract --release`"
    current = {service: contract.rpc_document(service) for service in released}
    broken = contract.breaking_changes(released, current)
    if _major(CONTRACT_VERSION) == _major(version):
        assert broken == [], (
            f"these changes can break callers of contract {version}; keep them compatible, or raise the "
            f"major version of CONTRACT_VERSION (alliance_contracts) and release: {broken}"
        )
    else:
        assert _major(CONTRACT_VERSION) > _major(version)
