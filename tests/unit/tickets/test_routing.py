import pytest

from alliance_tickets.domain.routing import RoutingTable, Rule


class Directory:
    """A hand-written stand-in for the read model: who has which skill, who is paired, volunteers."""

    def __init__(self, experts=(), paired=(), volunteers=()):
        self._experts, self._paired, self._volunteers = dict(experts), list(paired), list(volunteers)

    def experts(self, skills):
        return [person for person, has in self._experts.items() if skills <= has]

    def paired_members(self):
        return self._paired

    def volunteers(self):
        return self._volunteers


TABLE = RoutingTable(
    [
        {"category": "bank_financing", "district": "*", "style": "team", "team": "bank-liaisons"},
        {
            "category": "online_shop",
            "district": "*",
            "style": "expertise",
            "skills": ["电商"],
            "fallback_team": "centre",
        },
        {"category": "party_affairs", "district": "aodele", "style": "pairing", "fallback_team": "branch-aodele"},
        {"category": "party_affairs", "district": "*", "style": "checklist", "team": "centre"},
        {"category": "*", "district": "aodele", "style": "volunteer", "fallback_team": "staff-aodele"},
        {"category": "*", "district": "*", "style": "team", "team": "centre"},
    ]
)


def test_a_category_rule_routes_to_its_team():
    route = TABLE.route("bank_financing", "outlets", Directory())
    assert (route.style, route.assignee, route.team) == ("team", None, "bank-liaisons")


def test_expertise_finds_the_person_with_the_skills_or_falls_back():
    route = TABLE.route("online_shop", "outlets", Directory(experts={"p-1": {"会计"}, "p-2": {"电商", "直播"}}))
    assert (route.style, route.assignee) == ("expertise", "p-2")
    assert TABLE.route("online_shop", "outlets", Directory()).team == "centre"


def test_a_district_rule_comes_before_the_any_district_rule():
    assert TABLE.route("party_affairs", "aodele", Directory(paired=["p-9"])).assignee == "p-9"
    assert TABLE.route("party_affairs", "aodele", Directory()).team == "branch-aodele"
    assert TABLE.route("party_affairs", "outlets", Directory()).style == "checklist"


def test_volunteers_and_the_catch_all():
    assert TABLE.route("other", "aodele", Directory(volunteers=["v-3", "v-1"])).assignee == "v-3"
    assert TABLE.route("other", "wholesale_city", Directory()).team == "centre"


@pytest.mark.parametrize(
    "rule",
    [
        {"category": "x", "district": "*", "style": "fortune"},
        {"category": "x", "district": "*", "style": "team"},
        {"category": "x", "district": "*", "style": "expertise", "fallback_team": "t"},
        {"category": "x", "district": "*", "style": "volunteer"},
    ],
)
def test_a_rule_that_cannot_route_is_refused_when_loaded(rule):
    with pytest.raises(ValueError):
        Rule(**rule)


def test_the_table_needs_a_catch_all():
    with pytest.raises(ValueError, match="catch-all"):
        RoutingTable([{"category": "other", "district": "*", "style": "team", "team": "t"}])


class Partners:
    """A stand-in for the organisation directory: partner organisations and their liaisons' order."""

    def __init__(self, organisations):
        self._organisations = organisations

    def partner(self, organisation_id):
        return self._organisations.get(organisation_id)

    def liaisons(self, partner):
        return list(partner["liaison_ids"])


PARTNER_TABLE = RoutingTable(
    [
        {
            "category": "bank_financing",
            "district": "*",
            "style": "partner",
            "organisation": "dezhou_bank",
            "fallback_team": "bank-liaisons",
        },
        {"category": "*", "district": "*", "style": "team", "team": "centre"},
    ]
)


def _bank(status="active", liaisons=("liaison-1", "liaison-2")):
    return {"dezhou_bank": {"name": "德州银行", "status": status, "liaison_ids": list(liaisons)}}


def test_a_partner_rule_proposes_the_partners_first_liaison():
    route = PARTNER_TABLE.route("bank_financing", "aodele", Partners(_bank()))
    assert (route.style, route.assignee, route.team, route.organisation, route.fell_back) == (
        "partner",
        "liaison-1",
        None,
        "dezhou_bank",
        None,
    )


@pytest.mark.parametrize(
    ("organisations", "why"),
    [
        (_bank(status="retired"), "德州银行 (dezhou_bank) is retired"),
        (_bank(liaisons=()), "has no liaison"),
        ({}, "not known"),
    ],
)
def test_a_partner_that_cannot_take_it_is_routed_around_and_the_route_says_why(organisations, why):
    route = PARTNER_TABLE.route("bank_financing", "aodele", Partners(organisations))
    assert (route.assignee, route.team, route.organisation) == (None, "bank-liaisons", None)
    assert why in route.fell_back


def test_a_partner_rule_names_its_organisation_and_its_fallback():
    with pytest.raises(ValueError, match="organisation"):
        Rule("bank_financing", "*", "partner", fallback_team="bank-liaisons")
    with pytest.raises(ValueError, match="fallback_team"):
        Rule("bank_financing", "*", "partner", organisation="dezhou_bank")


def test_a_style_that_finds_no_one_says_so():
    route = TABLE.route("online_shop", "outlets", Directory())
    assert (route.team, route.fell_back) == ("centre", "no expertise handler found")
    assert TABLE.route("online_shop", "outlets", Directory(experts={"p-1": {"电商"}})).fell_back is None
