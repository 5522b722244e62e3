"""People and Party members: ID-card numbers kept sealed, roles, search, floating members."""

from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from alliance_platform.errors import Conflict, Forbidden, NotFound, ValidationError
from alliance_registry.domain.days import today
from alliance_registry.domain.identifiers import mask_id_card
from tests.use_cases.registry.samples import id_card, merchant_fields, mobile, person_fields


def test_an_id_card_number_is_sealed_at_rest_and_shown_in_full_only_to_an_administrator(registry):
    number = id_card()
    with registry.admin() as alliance:
        person = alliance.registry.register_person(**person_fields(id_card_no=number, roles=["volunteer"]))
        assert person["id_card_no"] == mask_id_card(number)  # not even the registering admin gets it echoed
        assert alliance.registry.get_person(person_id=person["person_id"])["id_card_no"] == number
        assert alliance.registry.search_people(id_card_no=number)["items"][0]["person_id"] == person["person_id"]
        with pytest.raises(Conflict):
            alliance.registry.register_person(**person_fields(id_card_no=number))
    with registry.staff("wholesale_city") as alliance:
        assert alliance.registry.get_person(person_id=person["person_id"])["id_card_no"] == mask_id_card(number)
        with pytest.raises(Forbidden):
            alliance.registry.search_people(id_card_no=number)
    # A dump of the database holds nothing that reads as the number.
    dump = registry.db("SELECT p::text AS row FROM people p")[0]["row"] + str(
        registry.db("SELECT details::text FROM history")
    )
    assert number not in dump and number[6:14] not in dump
    outbox = str(registry.db("SELECT body FROM outbox"))
    assert number not in outbox and number[6:14] not in outbox


def test_register_update_and_read_a_person(registry):
    with registry.admin() as alliance:
        person = alliance.registry.register_person(
            **person_fields(name="Anna Schmidt", roles=["volunteer"], skills=["德语翻译"], language="en")
        )
        assert (person["roles"], person["language"], person["id_card_no"], person["version"]) == (
            ["volunteer"],
            "en",
            None,
            1,
        )
        number = id_card()
        updated = alliance.registry.update_person(
            person_id=person["person_id"], roles=["staff", "volunteer"], id_card_no=number, skills=["德语翻译", "电商"]
        )
        assert updated["roles"] == ["staff", "volunteer"] and updated["version"] == 2
        removed = alliance.registry.update_person(person_id=person["person_id"], id_card_no=None)
        assert removed["id_card_no"] is None
        history = alliance.registry.get_person(person_id=person["person_id"], include_history=True)["history"]
    assert [h["action"] for h in history] == ["registered", "updated", "updated"]
    assert history[1]["details"]["id_card_no"] == "changed" and history[2]["details"]["id_card_no"] == "removed"
    received = registry.events()
    assert [t for t, _ in received] == ["person_registered", "person_updated", "person_updated"]
    assert received[1][1]["changed"] == ["id_card_no", "roles", "skills"] and received[1][1]["has_id_card"]
    assert number not in str(received)


def test_bad_people_are_refused_and_nothing_is_written(registry):
    taken = mobile()
    with registry.admin() as alliance:
        alliance.registry.register_person(**person_fields(mobile=taken))
        for bad in (
            {"mobile": "1234"},
            {"id_card_no": "371402198001010010"},  # wrong check character
            {"id_card_no": "371402198002300015"},  # 30 February
            {"district_id": "moon"},
            {"roles": ["party_member"]},  # follows from register_party_member, not assigned
            {"language": "fr"},
            {"name": ""},
        ):
            with pytest.raises(ValidationError):
                alliance.registry.register_person(**person_fields(**bad))
        with pytest.raises(Conflict):
            alliance.registry.register_person(**person_fields(mobile=taken))
        with pytest.raises(NotFound):
            alliance.registry.get_person(person_id="00000000-0000-0000-0000-000000000000")
    with registry.staff("aodele") as alliance, pytest.raises(Forbidden):
        alliance.registry.register_person(**person_fields(district_id="outlets"))
    assert registry.db("SELECT count(*) AS n FROM people")[0]["n"] == 1
    assert registry.db("SELECT count(*) AS n FROM outbox")[0]["n"] == 1


def test_a_merchant_reaches_its_owner_only_and_edits_only_plain_details(registry):
    with registry.admin() as alliance:
        owner = alliance.registry.register_person(**person_fields(name="张三"))
        stranger = alliance.registry.register_person(**person_fields(name="李四"))
        merchant = alliance.registry.register_merchant(**merchant_fields(owner_id=owner["person_id"]))
    with registry.merchant(merchant["merchant_id"]) as alliance:
        assert alliance.registry.get_person(person_id=owner["person_id"])["name"] == "张三"
        assert alliance.registry.update_person(person_id=owner["person_id"], language="en")["language"] == "en"
        with pytest.raises(Forbidden):
            alliance.registry.update_person(person_id=owner["person_id"], roles=["staff"])
        with pytest.raises(Forbidden):
            alliance.registry.get_person(person_id=stranger["person_id"])
        with pytest.raises(Forbidden):
            alliance.registry.register_person(**person_fields())


def test_search_people_by_name_fragment_role_and_mobile(registry):
    with registry.admin() as alliance:
        for name, district, roles in [
            ("王建国", "wholesale_city", ["staff"]),
            ("王建华", "aodele", ["volunteer"]),
            ("张建国", "aodele", []),
            ("欧阳建", "outlets", ["volunteer"]),
        ]:
            alliance.registry.register_person(**person_fields(name=name, district_id=district, roles=roles))

        def names(**filters):
            return sorted(p["name"] for p in alliance.registry.search_people(**filters)["items"])

        assert names(name="建国") == ["张建国", "王建国"]
        assert names(name="王") == ["王建华", "王建国"]
        assert names(name="欧阳建") == ["欧阳建"]
        assert names(role="volunteer") == ["欧阳建", "王建华"]
        assert names(name="建", district_id="aodele") == ["张建国", "王建华"]
    with registry.staff("aodele") as alliance:
        assert sorted(p["name"] for p in alliance.registry.search_people(name="建")["items"]) == ["张建国", "王建华"]


def test_party_members_and_the_roles_the_register_implies(registry):
    with registry.admin() as alliance:
        person = alliance.registry.register_person(**person_fields(roles=["volunteer"]))
        member = alliance.registry.register_party_member(
            person_id=person["person_id"], branch_id="branch_wholesale_city", joined_on="2008-07-01"
        )
        assert member["district_id"] == "wholesale_city" and member["party_age"] >= 17
        read = alliance.registry.get_person(person_id=person["person_id"])
        assert read["roles"] == ["party_member", "volunteer"]
        assert read["party_member"]["branch_id"] == "branch_wholesale_city"
        # Assigned roles change; the implied one stays.
        assert alliance.registry.update_person(person_id=person["person_id"], roles=[])["roles"] == ["party_member"]
        with pytest.raises(Conflict):
            alliance.registry.register_party_member(
                person_id=person["person_id"], branch_id="branch_wholesale_city", joined_on="2008-07-01"
            )
        other = alliance.registry.register_person(**person_fields())
        for bad in (
            {"branch_id": "alliance"},  # an organisation, not a Party branch
            {"branch_id": "branch_moon"},
            {"joined_on": (today(registry.now()) + timedelta(days=10)).isoformat()},
            {"membership": "honorary"},
            {"floating": {"home_province": "浙江省"}},
        ):
            with pytest.raises(ValidationError):
                alliance.registry.register_party_member(
                    **{"person_id": other["person_id"], "branch_id": "branch_aodele", "joined_on": "2010-01-01", **bad}
                )
        with pytest.raises(NotFound):
            alliance.registry.register_party_member(
                person_id="00000000-0000-0000-0000-000000000000", branch_id="branch_aodele", joined_on="2010-01-01"
            )
    with registry.staff("aodele") as alliance, pytest.raises(Forbidden):
        alliance.registry.register_party_member(
            person_id=other["person_id"], branch_id="branch_outlets", joined_on="2010-01-01"
        )
    assert registry.event_types() == [
        "person_registered",
        "party_member_registered",
        "person_updated",
        "person_updated",
        "person_registered",
    ]


def test_a_floating_member_is_announced_once_six_months_after_arrival(registry, floating_member):
    china_today = today(registry.now())  # the service counts days in China Standard Time
    arrived = china_today - timedelta(days=150)
    with registry.admin() as alliance:
        person, member = floating_member(alliance, arrived)
        assert member["floating"] and member["transfer_due_on"] > china_today.isoformat()
        before = alliance.registry.stats()
    assert registry.event_types() == ["person_registered", "party_member_registered", "person_updated"]
    assert before["floating_members"] == 1 and before["floating_members_due_for_transfer"] == 0
    with entrypoint_hook(registry.container, "announce_due_transfers") as check:
        assert check() == 0
        registry.time.advance(days=40)
        assert check() == 1
        assert check() == 0
    ((event_type, payload),) = registry.events()[3:]
    assert event_type == "floating_member_transfer_due"
    assert (payload["person_id"], payload["home_province"], payload["transfer_due_on"]) == (
        person["person_id"],
        "浙江省",
        member["transfer_due_on"],
    )
    with registry.admin() as alliance:
        assert alliance.registry.stats()["floating_members_due_for_transfer"] == 1
        with pytest.raises(ValidationError):
            alliance.registry.record_transfer_in(person_id=person["person_id"], transferred_on="2000-01-01")
        transferred = alliance.registry.record_transfer_in(person_id=person["person_id"])
        with pytest.raises(Conflict):
            alliance.registry.record_transfer_in(person_id=person["person_id"])
        after = alliance.registry.stats()
    assert transferred["transferred_in_on"] == (china_today + timedelta(days=40)).isoformat()
    assert after["floating_members"] == 0 and after["floating_members_due_for_transfer"] == 0
    assert [r["action"] for r in registry.db("SELECT action FROM history WHERE aggregate_type = 'person' ORDER BY id")][
        -2:
    ] == [
        "transfer_due_announced",
        "transferred_in",
    ]


def test_only_a_floating_member_transfers_in(registry):
    with registry.admin() as alliance:
        person = alliance.registry.register_person(**person_fields())
        with pytest.raises(NotFound):
            alliance.registry.record_transfer_in(person_id=person["person_id"])
        alliance.registry.register_party_member(
            person_id=person["person_id"], branch_id="branch_aodele", joined_on="2015-05-04"
        )
        with pytest.raises(Conflict):
            alliance.registry.record_transfer_in(person_id=person["person_id"])
