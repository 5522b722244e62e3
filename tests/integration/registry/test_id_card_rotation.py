"""The ID-card key rotated under a running registry, over the broker: the numbers sealed under key
1 are re-sealed under key 2 by the timer of the registry restarted with both keys, which is killed
midway and started again; an operator follows it with ``id_card_keys`` (and ``alliance
id-card-keys``); at the end a registry holding key 2 alone reads and finds every number."""

import base64
from datetime import UTC, datetime, time

import pytest
from click.testing import CliRunner

from alliance_ops.cli import main
from alliance_platform import logs
from alliance_platform.errors import Forbidden
from alliance_registry.domain.days import CHINA, today
from tests.support.helpers import query, wait_until
from tests.use_cases.registry.samples import id_card, person_fields

KEY_1 = "ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k"  # the development key: what the registry had
KEY_2 = base64.b64encode(b"second id-card key, 32 bytes....").decode()
PEOPLE = 60


def _under(database):
    rows = query(database, "SELECT id_card_key_id AS key, count(*) AS n FROM people GROUP BY 1")
    return {r["key"]: r["n"] for r in rows if r["key"] is not None}


def _cli(*args):
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    finally:
        logs.configure(fmt="console", level="WARNING")
    return result.exit_code, result.stdout


@pytest.fixture
def start(service_harness):
    at = datetime.combine(today(datetime.now(UTC)), time(10), CHINA)
    return lambda **config: service_harness("registry", at, **config)


def test_the_key_is_rotated_in_the_background_interrupted_resumed_and_the_old_key_removed(start, monkeypatch):
    before = start()  # key 1 only, as deployed so far
    numbers = {}
    with before.admin() as alliance:
        for _ in range(PEOPLE):
            number = id_card()
            numbers[alliance.registry.register_person(**person_fields(id_card_no=number))["person_id"]] = number
        assert alliance.registry.id_card_keys()["keys"] == [{"key_id": 1, "state": "current", "numbers": PEOPLE}]
    with before.staff() as alliance, pytest.raises(Forbidden):
        alliance.registry.id_card_keys()
    database = before.database
    before.container.stop()

    rotating = {"ID_CARD_KEY": f"2:{KEY_2}", "ID_CARD_KEYS_PREVIOUS": f"1:{KEY_1}", "ID_CARD_RESEAL_BATCH": 5}
    first = start(database=database, ID_CARD_RESEAL_INTERVAL=0.2, **rotating)
    wait_until(lambda: _under(database).get(2, 0) >= 10, timeout=30, message="two batches re-sealed")
    first.container.kill()  # mid-rotation, maybe mid-batch
    midway = _under(database)
    assert sum(midway.values()) == PEOPLE and set(midway) <= {1, 2}  # each number under one key, none lost

    resumed = start(database=database, ID_CARD_RESEAL_INTERVAL=0.05, **rotating)
    with resumed.as_("staff", roles=["operator"]) as alliance:
        report = wait_until(
            lambda: (r := alliance.registry.id_card_keys())["done"] and r, timeout=60, message="the rotation done"
        )
        assert report["keys"] == [
            {"key_id": 1, "state": "retiring", "numbers": 0},
            {"key_id": 2, "state": "current", "numbers": PEOPLE},
        ]
        assert (report["to_reseal"], report["unreadable"], report["remove_from_config"]) == (0, 0, [1])
    monkeypatch.setenv("AMQP_URI", resumed.container.config["AMQP_URI"])
    code, output = _cli("id-card-keys")
    assert code == 0, output
    assert "every number is sealed under the current key 2" in output
    assert "key 1 is no longer used: remove it from REGISTRY_ID_CARD_KEYS_PREVIOUS" in output
    resumed.container.stop()

    after = start(database=database, ID_CARD_KEY=f"2:{KEY_2}")  # key 1 removed from config
    with after.admin() as alliance:
        for person_id, number in numbers.items():
            assert alliance.registry.get_person(person_id=person_id)["id_card_no"] == number
            assert [p["person_id"] for p in alliance.registry.search_people(id_card_no=number)["items"]] == [person_id]
        assert alliance.registry.id_card_keys()["keys"] == [{"key_id": 2, "state": "current", "numbers": PEOPLE}]
    assert _under(database) == {2: PEOPLE}
