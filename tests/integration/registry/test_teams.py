"""Teams (团队): whom a demand routed to a team should reach. The tickets service routes demands to
teams by name (its ROUTING_RULES); an administrator keeps who is in each with register_person /
update_person, and resolve_audience(team=...) lists the members, as the notifications service asks."""

import pytest

from alliance_ops import demo_data
from alliance_platform.errors import Forbidden, ValidationError
from tests.use_cases.registry.samples import merchant_fields, person_fields


def _members(alliance, team):
    return {c["id"] for c in alliance.registry.resolve_audience(team=team)["contacts"]}


def test_an_administrator_keeps_a_persons_teams_and_the_audience_of_a_team_is_its_members(registry):
    with registry.admin() as admin:
        bank = admin.registry.register_person(**person_fields(roles=["department_liaison"], teams=["bank-liaisons"]))
        both = admin.registry.register_person(
            **person_fields(district_id="aodele", teams=["government-liaisons", "bank-liaisons", "bank-liaisons"])
        )
        admin.registry.register_person(**person_fields(roles=["staff"]))  # in no team
        assert both["teams"] == ["bank-liaisons", "government-liaisons"]
        assert _members(admin, "bank-liaisons") == {bank["person_id"], both["person_id"]}
        assert _members(admin, "service-centre") == set()

        moved = admin.registry.update_person(person_id=both["person_id"], teams=["government-liaisons"])
        assert moved["teams"] == ["government-liaisons"]
        assert admin.registry.get_person(person_id=both["person_id"])["teams"] == ["government-liaisons"]
        assert _members(admin, "bank-liaisons") == {bank["person_id"]}
        with pytest.raises(ValidationError, match="exactly one audience"):
            admin.registry.resolve_audience(team="bank-liaisons", role="staff")
        with pytest.raises(ValidationError):
            admin.registry.register_person(**person_fields(teams=[""]))
    with registry.staff("wholesale_city") as staff:
        # A district's staff see the members in their districts only, as for a role.
        assert _members(staff, "government-liaisons") == set()
        assert _members(staff, "bank-liaisons") == {bank["person_id"]}


def test_a_merchant_does_not_put_its_owner_into_a_team(registry):
    with registry.admin() as admin:
        owner = admin.registry.register_person(**person_fields())
        shop = admin.registry.register_merchant(**merchant_fields(owner_id=owner["person_id"]))
    with registry.merchant(shop["merchant_id"], person_id=owner["person_id"]) as me:
        with pytest.raises(Forbidden):
            me.registry.update_person(person_id=owner["person_id"], teams=["service-centre"])
        assert me.registry.update_person(person_id=owner["person_id"], skills=["电商运营"])["teams"] == []


def test_the_demo_register_fills_the_teams_the_routing_rules_name(registry):
    with registry.client(timeout=30) as alliance:
        demo_data.load(alliance, per_district=1)
        sizes = {
            team: len(_members(alliance, team))
            for team in ("service-centre", "party-branches", "bank-liaisons", "government-liaisons")
        }
    # Two staff per district at the service centre, each district's secretary, the two liaisons.
    assert sizes == {"service-centre": 6, "party-branches": 3, "bank-liaisons": 1, "government-liaisons": 1}
