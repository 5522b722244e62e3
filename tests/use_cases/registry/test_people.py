"""People on a real session: ID-card numbers sealed and never echoed, assigned and implied roles,
teams, what a merchant may change for its owner, and refusals that leave nothing behind."""

import pytest

from alliance_platform.errors import Conflict, Forbidden, NotFound
from alliance_registry import queries, use_cases
from alliance_registry.domain.identifiers import mask_id_card

from .conftest import SETTINGS, merchant, staff
from .samples import id_card, merchant_fields, mobile, person_fields


def test_a_person_is_registered_with_roles_in_order_and_teams_once(register):
    person = register(
        use_cases.register_person,
        **person_fields(
            roles=["volunteer", "staff", "volunteer"], teams=["service-centre", "bank-liaisons", "service-centre"]
        ),
    )
    assert person["roles"] == ["staff", "volunteer"] and person["teams"] == ["bank-liaisons", "service-centre"]
    assert (person["id_card_no"], person["language"], person["version"]) == (None, "zh-CN", 1)
    ((event_type, payload),) = register.events()
    assert event_type == "person_registered" and payload["has_id_card"] is False
    assert [h["action"] for h in register.history(person["person_id"])] == ["registered"]


def test_an_id_card_number_is_sealed_found_by_its_digest_and_never_echoed(register):
    number = id_card()
    person = register(use_cases.register_person, **person_fields(id_card_no=number))
    assert person["id_card_no"] == mask_id_card(number)
    (stored,) = register.db("SELECT id_card_sealed, id_card_digest, id_card_masked FROM people")
    assert SETTINGS.id_cards.unseal(stored["id_card_sealed"]) == number
    assert bytes(stored["id_card_digest"]) == SETTINGS.id_cards.digest(number)
    assert register.events()[0][1]["has_id_card"] is True and number not in str(register.events())
    assert number not in str(register.db("SELECT details FROM history"))
    with pytest.raises(Conflict, match="ID-card number"):
        register(use_cases.register_person, **person_fields(id_card_no=number))
    assert register.count("people") == 1


def test_a_mobile_belongs_to_one_person(register):
    taken = mobile()
    register(use_cases.register_person, **person_fields(mobile=taken))
    other = register(use_cases.register_person, **person_fields())
    with pytest.raises(Conflict, match=taken):
        register(use_cases.register_person, **person_fields(mobile=taken))
    with pytest.raises(Conflict, match=taken):
        register(use_cases.update_person, person_id=other["person_id"], mobile=taken)
    assert register.event_types() == ["person_registered", "person_registered"]


def test_staff_register_people_only_in_their_districts(register):
    with pytest.raises(Forbidden):
        register(use_cases.register_person, caller=staff("aodele"), **person_fields(district_id="outlets"))
    assert register(use_cases.register_person, caller=staff("aodele"), **person_fields(district_id="aodele"))
    assert register.count("people") == 1


def test_assigned_roles_are_replaced_and_implied_ones_stay(register):
    person = register(use_cases.register_person, **person_fields(roles=["volunteer"]))
    register(
        use_cases.register_party_member,
        person_id=person["person_id"],
        branch_id="branch_wholesale_city",
        joined_on="2010-07-01",
    )
    updated = register(use_cases.update_person, person_id=person["person_id"], roles=["branch_secretary"])
    assert updated["roles"] == ["party_member", "branch_secretary"]
    assert register(use_cases.update_person, person_id=person["person_id"], roles=[])["roles"] == ["party_member"]


def test_an_id_card_change_is_kept_in_the_history_without_the_number(register):
    person = register(use_cases.register_person, **person_fields())
    ref = {"person_id": person["person_id"]}
    first, second = id_card(), id_card()
    register(use_cases.update_person, **ref, id_card_no=first)
    same = register(use_cases.update_person, **ref, id_card_no=first)  # the same number: nothing changes
    assert same["version"] == 2
    register(use_cases.update_person, **ref, id_card_no=second)
    removed = register(use_cases.update_person, **ref, id_card_no=None)
    assert (removed["id_card_no"], removed["version"]) == (None, 4)
    updates = [h["details"] for h in register.history(person["person_id"]) if h["action"] == "updated"]
    assert updates == [{"id_card_no": "changed"}, {"id_card_no": "changed"}, {"id_card_no": "removed"}]
    assert [p["changed"] for _, p in register.events("person_updated")] == [["id_card_no"]] * 3
    assert register.db("SELECT id_card_sealed, id_card_digest, id_card_masked FROM people") == [
        {"id_card_sealed": None, "id_card_digest": None, "id_card_masked": None}
    ]


def test_an_update_naming_an_old_version_is_refused(register):
    person = register(use_cases.register_person, **person_fields())
    register(use_cases.update_person, person_id=person["person_id"], name="新名", expected_version=1)
    with pytest.raises(Conflict, match="version 2, not 1"):
        register(use_cases.update_person, person_id=person["person_id"], name="又一个名", expected_version=1)
    with pytest.raises(NotFound):
        register(use_cases.update_person, person_id="00000000-0000-0000-0000-000000000000", name="x")
    assert register.db("SELECT name, version FROM people") == [{"name": "新名", "version": 2}]


def test_a_merchant_changes_its_owners_plain_details_only(register):
    owner = register(use_cases.register_person, **person_fields(name="张三"))
    stranger = register(use_cases.register_person, **person_fields(name="李四"))
    shop = register(use_cases.register_merchant, **merchant_fields(owner_id=owner["person_id"]))
    me = merchant(shop)
    assert register(use_cases.update_person, caller=me, person_id=owner["person_id"], language="en")["language"] == "en"
    for refused in (
        {"roles": ["staff"]},
        {"teams": ["service-centre"]},
        {"district_id": "aodele"},
        {"id_card_no": id_card()},
    ):
        with pytest.raises(Forbidden):
            register(use_cases.update_person, caller=me, person_id=owner["person_id"], **refused)
    with pytest.raises(Forbidden):
        register(use_cases.update_person, caller=me, person_id=stranger["person_id"], name="冒名")
    # The person the merchant's token names is its own record too.
    own = merchant(shop, subject=stranger["person_id"])
    assert register(use_cases.update_person, caller=own, person_id=stranger["person_id"], skills=["电商"])[
        "skills"
    ] == ["电商"]


def test_who_reads_a_person_and_who_sees_the_id_card_number(register):
    number = id_card()
    person = register(use_cases.register_person, **person_fields(id_card_no=number, district_id="aodele"))
    ref = {"person_id": person["person_id"]}
    assert register(queries.get_person, **ref)["id_card_no"] == number  # the administrator
    assert register(queries.get_person, caller=staff("aodele"), **ref)["id_card_no"] == mask_id_card(number)
    with pytest.raises(Forbidden):
        register(queries.get_person, caller=staff("outlets"), **ref)
    assert register(queries.search_people, id_card_no=number)["items"][0]["id_card_no"] == mask_id_card(number)
    with pytest.raises(Forbidden, match="administrator"):
        register(queries.search_people, caller=staff("aodele"), id_card_no=number)
