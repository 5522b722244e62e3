"""The ID-card key rotated while the registry runs: numbers sealed under key 1 re-sealed under
key 2 in batches by the timer's job, interrupted and resumed, two instances side by side; at the
end every number reads back and is found with key 2 alone, and no row is under two keys."""

import base64
from dataclasses import replace

import pytest
from structlog.testing import CapturingLogger

from alliance_platform.entrypoints import load_arguments
from alliance_platform.errors import Conflict, ServiceUnavailable
from alliance_registry import queries, timers, use_cases
from alliance_registry.domain.id_cards import IdCardVault, key_id_of
from alliance_registry.domain.identifiers import mask_id_card
from alliance_registry.service import RegistryService

from .conftest import ADMIN, SETTINGS, Register, staff
from .samples import id_card, person_fields

KEY_1 = "ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k"  # the development key, configured bare
KEY_2 = base64.b64encode(b"second id-card key, 32 bytes....").decode()
KEY_3 = base64.b64encode(b"third id-card key, thirty-two by").decode()


def settings(current, previous=""):
    """The registry's settings with these keys: a process started with that config."""
    return replace(SETTINGS, id_cards=IdCardVault(current, previous))


class Instance(Register):
    """The registry's use cases run with ``settings`` (one instance of the service and its keys)."""

    def __init__(self, use_case, settings):
        super().__init__(use_case)
        self.settings = settings

    def __call__(self, function, caller=ADMIN, **fields):
        schema = getattr(RegistryService, function.__name__).rpc_schema
        cmd = load_arguments(schema, (), fields)
        with self._use_case("registry", caller=caller, now=self.now, settings=self.settings) as ctx:
            return function(ctx) if schema is None else function(ctx, cmd)

    def run(self, function, *args, caller=None):
        with self._use_case("registry", caller=caller, now=self.now, settings=self.settings) as ctx:
            return function(ctx, *args)

    def rows(self):
        return self.db(
            "SELECT id::text AS person_id, id_card_sealed, id_card_digest, id_card_key_id, id_card_masked"
            " FROM people WHERE id_card_sealed IS NOT NULL ORDER BY id"
        )

    def under(self):
        """{key id: numbers sealed under it}, from the rows."""
        return {
            r["key"]: r["n"]
            for r in self.db(
                "SELECT id_card_key_id AS key, count(*) AS n FROM people WHERE id_card_key_id IS NOT NULL GROUP BY 1"
            )
        }


@pytest.fixture
def before(use_case):
    """The registry as deployed before the rotation: key 1 only."""
    return Instance(use_case, settings(KEY_1))


def _register(instance, count):
    """``count`` people with a number (and one without): {person_id: number}."""
    numbers = {}
    for _ in range(count):
        number = id_card()
        numbers[instance(use_cases.register_person, **person_fields(id_card_no=number))["person_id"]] = number
    instance(use_cases.register_person, **person_fields())
    return numbers


def test_rotation_in_batches_interrupted_and_resumed_leaves_every_number_under_the_new_key(
    before, use_case, monkeypatch
):
    numbers = _register(before, 25)
    assert before.under() == {1: 25}
    versions = {r["person_id"]: r["version"] for r in before.db("SELECT id::text AS person_id, version FROM people")}

    rotating = Instance(use_case, settings(f"2:{KEY_2}", f"1:{KEY_1}"))
    report = rotating(queries.id_card_keys)
    assert (report["current_key_id"], report["to_reseal"], report["done"], report["remove_from_config"]) == (
        2,
        25,
        False,
        [],
    )

    assert rotating.run(timers.reseal_id_cards, 10) == 10  # one batch, one transaction
    assert rotating.under() == {1: 15, 2: 10}
    assert rotating(queries.id_card_keys)["to_reseal"] == 15

    # The next batch is interrupted (the process dies before its commit): nothing of it stays.
    with pytest.raises(RuntimeError), use_case("registry", now=rotating.now, settings=rotating.settings) as ctx:
        assert timers.reseal_id_cards(ctx, 10) == 10
        raise RuntimeError("killed mid-batch")
    assert rotating.under() == {1: 15, 2: 10}

    # A restarted instance (fresh settings, nothing remembered) carries on where the rows say.
    resumed = Instance(use_case, settings(f"2:{KEY_2}", f"1:{KEY_1}"))
    runs = []
    # The timer's own logger, recorded (structlog's capture_logs misses a logger cached by an
    # earlier test of the same process).
    logs = CapturingLogger()
    monkeypatch.setattr(timers, "log", logs)
    while (moved := resumed.run(timers.reseal_id_cards, 10)) or not runs or runs[-1]:
        runs.append(moved)
    assert runs == [10, 5, 0]
    assert [c.kwargs["key_id"] for c in logs.calls if c.args[0].startswith("id-card key no longer used")] == [1]
    assert resumed.run(timers.reseal_id_cards, 10) == 0
    report = resumed(queries.id_card_keys)
    assert (report["to_reseal"], report["done"], report["remove_from_config"]) == (0, True, [1])
    assert report["keys"] == [
        {"key_id": 1, "state": "retiring", "numbers": 0},
        {"key_id": 2, "state": "current", "numbers": 25},
    ]

    # Key 1 removed from config: every number still reads back, and is found, with key 2 alone.
    after = Instance(use_case, settings(f"2:{KEY_2}"))
    new_only = after.settings.id_cards
    for row in after.rows():
        number = numbers[row["person_id"]]
        # None under two keys: the sealed value, its key id and its digest all say key 2.
        assert key_id_of(row["id_card_sealed"]) == row["id_card_key_id"] == 2
        assert bytes(row["id_card_digest"]) == new_only.digest(number)
        assert row["id_card_masked"] == mask_id_card(number)
        assert after(queries.get_person, person_id=row["person_id"])["id_card_no"] == number
        found = after(queries.search_people, id_card_no=number)["items"]
        assert [p["person_id"] for p in found] == [row["person_id"]]
    assert after.under() == {2: 25} and len(after.rows()) == 25
    # Re-sealing is not a change of the person: no version, no history, no event.
    assert {r["person_id"]: r["version"] for r in after.db("SELECT id::text AS person_id, version FROM people")} == (
        versions
    )
    assert after.event_types().count("person_updated") == 0


def test_two_instances_re_seal_different_rows_side_by_side(before, use_case):
    _register(before, 12)
    rotating = settings(f"2:{KEY_2}", f"1:{KEY_1}")
    with use_case("registry", now=before.now, settings=rotating) as first:
        first_moved = timers.reseal_id_cards(first, 5)
        # The second instance's batch, while the first still holds its rows: it skips them.
        with use_case("registry", now=before.now, settings=rotating) as second:
            second_moved = timers.reseal_id_cards(second, 5)
    assert (first_moved, second_moved) == (5, 5)
    assert before.under() == {1: 2, 2: 10}


def test_numbers_stay_unique_and_found_whichever_key_their_row_is_under(before, use_case):
    taken = id_card()
    person = before(use_cases.register_person, **person_fields(id_card_no=taken))
    rotating = Instance(use_case, settings(f"2:{KEY_2}", f"1:{KEY_1}"))
    with pytest.raises(Conflict):  # its row is under key 1, the new registration would be under key 2
        rotating(use_cases.register_person, **person_fields(id_card_no=taken))
    assert rotating(queries.search_people, id_card_no=taken)["items"][0]["person_id"] == person["person_id"]
    # Giving the person the number they have is no change (their row is under the old key).
    same = rotating(use_cases.update_person, person_id=person["person_id"], id_card_no=taken)
    assert same["version"] == person["version"]
    other = rotating(use_cases.register_person, **person_fields(id_card_no=id_card()))
    assert rotating.under() == {1: 1, 2: 1}
    changed = rotating(use_cases.update_person, person_id=person["person_id"], id_card_no=id_card())
    assert changed["version"] == person["version"] + 1 and rotating.under() == {2: 2}
    assert other["person_id"] != person["person_id"]


def test_an_instance_still_on_the_old_key_does_not_move_numbers_back(before, use_case):
    numbers = _register(before, 3)
    switched = Instance(use_case, settings(f"2:{KEY_2}", f"1:{KEY_1}"))
    assert switched.run(timers.reseal_id_cards, 10) == 3
    # Mid rolling restart: an instance given key 2 as incoming, still sealing under 1.
    lagging = Instance(use_case, settings(f"1:{KEY_1}", f"2:{KEY_2}"))
    assert lagging.run(timers.reseal_id_cards, 10) == 0
    number = id_card()
    person = lagging(use_cases.register_person, **person_fields(id_card_no=number))
    moved = next(iter(numbers))  # re-sealed under key 2 above
    assert lagging(queries.get_person, person_id=moved)["id_card_no"] == numbers[moved]
    assert lagging.under() == {1: 1, 2: 3}
    assert switched.run(timers.reseal_id_cards, 10) == 1  # what it sealed under 1 moves on
    assert switched(queries.get_person, person_id=person["person_id"])["id_card_no"] == number


def test_a_number_under_a_key_not_held_is_a_typed_error_and_the_job_leaves_it(before, use_case):
    numbers = _register(before, 2)
    too_early = Instance(use_case, settings(f"3:{KEY_3}", f"2:{KEY_2}"))  # key 1 dropped before its time
    person_id = next(iter(numbers))
    with pytest.raises(ServiceUnavailable, match="key 1"):
        too_early(queries.get_person, person_id=person_id)
    assert too_early.run(timers.reseal_id_cards, 10) == 0  # nothing it can open: no crash, nothing changed
    report = too_early(queries.id_card_keys)
    assert (report["unreadable"], report["done"]) == (2, False)
    assert {"key_id": 1, "state": "unknown", "numbers": 2} in report["keys"]
    # Others see the masked form, which needs no key.
    assert too_early(queries.get_person, caller=staff(), person_id=person_id)["id_card_no"] == mask_id_card(
        numbers[person_id]
    )
