"""``alliance systems``: an administrator registers an internal system (its credential printed once,
and it exchanges), lists it, and revokes it (the credential exchanges nothing more)."""

import pytest

from alliance_platform.config import service_class
from alliance_platform.errors import Unauthenticated
from alliance_platform.rpc import AllianceClient
from tests.integration.test_cli import _invoke
from tests.use_cases.registry.samples import person_fields


@pytest.fixture
def registry(container_factory, service_config, monkeypatch):
    config = service_config("registry")
    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    container = container_factory(service_class("registry"), config)
    container.start()
    return container


def test_register_list_and_revoke_a_system(registry, client):
    code, out, err = _invoke(
        "systems", "register", "duty-roster", "--grant", "tickets.*", "--grant", "registry.get_person",
        "--kind", "staff", "--district", "aodele", "--max-ttl", "600",
    )  # fmt: skip
    assert code == 0, err
    credential = out.strip().splitlines()[-1]
    assert credential.startswith("alliance-system.")
    system_id = out.split(" id ", 1)[1].split()[0]

    with client() as admin:
        person = admin.registry.register_person(**person_fields(roles=["staff"], district_id="aodele"))
    with AllianceClient(registry.config["AMQP_URI"], None, timeout=10) as anonymous:
        token = anonymous.registry.exchange_token(credential=credential, person_id=person["person_id"])
    assert (token["subject"], token["actor"], token["districts"]) == (person["person_id"], "duty-roster", ["aodele"])

    code, out, err = _invoke("systems", "list")
    assert code == 0, err
    assert "duty-roster" in out and system_id in out and "tickets.*" in out

    code, out, err = _invoke("systems", "revoke", system_id, "--reason", "值班表系统停用")
    assert code == 0, err
    assert "revoked" in out
    with AllianceClient(registry.config["AMQP_URI"], None, timeout=10) as anonymous, pytest.raises(Unauthenticated):
        anonymous.registry.exchange_token(credential=credential, person_id=person["person_id"])
    code, out, err = _invoke("systems", "list")
    assert "no internal systems registered" in out
    code, out, err = _invoke("systems", "list", "--all")
    assert "duty-roster" in out and "值班表系统停用" in out


def test_a_grant_naming_no_method_is_a_usage_error():
    code, _, err = _invoke("systems", "register", "x-sys", "--grant", "tickets.no_such", "--kind", "merchant",
                           "--district", "*")  # fmt: skip
    assert code == 2 and "no such method tickets.no_such" in err
