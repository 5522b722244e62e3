"""Routing a new demand to whoever should take it (分派), by a rule table an operator edits.

A rule matches a category and a district (``*`` for any) and names an assistance style (四服):

- ``expertise`` (专长式): the person whose skill tags cover the rule's ``skills`` (fewest open cases);
- ``pairing`` (结对式): the Party member paired with the merchant;
- ``volunteer`` (志愿式): the volunteer with the fewest open cases;
- ``checklist`` (清单式): the rule's team works through the category's checklist;
- ``team``: the rule's team (a department or bank liaison group, a district's staff).

The first matching rule wins; rules for a district come before ``*`` rules. A style that finds no
one (no paired member, no volunteer) falls through to the rule's ``fallback_team``, so a demand is
never routed to nobody. Routing only proposes: whoever accepts the case owns it (首接负责制).
"""

from dataclasses import dataclass, field

STYLES = ("expertise", "pairing", "volunteer", "checklist", "team")


@dataclass(frozen=True)
class Rule:
    category: str
    district: str
    style: str
    team: str | None = None
    skills: frozenset = field(default_factory=frozenset)
    fallback_team: str | None = None

    def __post_init__(self):
        if self.style not in STYLES:
            raise ValueError(f"routing style {self.style!r} is not one of {STYLES}")
        if self.style in ("team", "checklist") and not self.team:
            raise ValueError(f"a {self.style} rule for {self.category}/{self.district} needs a team")
        if self.style == "expertise" and not self.skills:
            raise ValueError(f"an expertise rule for {self.category}/{self.district} needs skills")
        if self.style in ("expertise", "pairing", "volunteer") and not self.fallback_team:
            raise ValueError(f"a {self.style} rule for {self.category}/{self.district} needs a fallback_team")


@dataclass(frozen=True)
class Route:
    style: str
    assignee: str | None  # a person id, or None when routed to a team
    team: str | None
    rule: Rule


class RoutingTable:
    def __init__(self, rules):
        self.rules = [
            r if isinstance(r, Rule) else Rule(**{**r, "skills": frozenset(r.get("skills", ()))}) for r in rules
        ]
        if not any(r.category == "*" and r.district == "*" for r in self.rules):
            raise ValueError("the routing table needs a catch-all rule (category '*', district '*')")

    def rule_for(self, category, district):
        def rank(rule):
            return (rule.district == "*", rule.category == "*")

        for rule in sorted(self.rules, key=rank):
            if rule.category in (category, "*") and rule.district in (district, "*"):
                return rule
        raise AssertionError("unreachable: the catch-all rule matches everything")

    def route(self, category, district, directory):
        """Propose who handles a demand. ``directory`` answers from the service's read model, for
        this demand's merchant: ``experts(skills)``, ``paired_members()`` and ``volunteers()`` each
        return person ids, best first (fewest open cases)."""
        rule = self.rule_for(category, district)
        candidates = {
            "expertise": lambda: directory.experts(rule.skills),
            "pairing": lambda: directory.paired_members(),
            "volunteer": lambda: directory.volunteers(),
        }.get(rule.style)
        if candidates is None:
            return Route(rule.style, None, rule.team, rule)
        found = candidates()
        if found:
            return Route(rule.style, found[0], None, rule)
        return Route(rule.style, None, rule.fallback_team, rule)
