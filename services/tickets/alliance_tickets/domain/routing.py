"""Routing a new demand to whoever should take it (分派), by a rule table an operator edits.

A rule matches a category and a district (``*`` for any) and names an assistance style (四服):

- ``expertise`` (专长式): the person whose skill tags cover the rule's ``skills`` (fewest open cases);
- ``pairing`` (结对式): the Party member paired with the merchant;
- ``volunteer`` (志愿式): the volunteer with the fewest open cases;
- ``checklist`` (清单式): the rule's team works through the category's checklist;
- ``team``: the rule's team (a department or bank liaison group, a district's staff);
- ``partner`` (转办合作单位): a liaison of the partner organisation the rule names (``organisation``,
  an id of the registry's organisations: a department, a bank, an institution), fewest open cases
  first. The organisations follow the registry's events: a renamed one keeps its rules, a retired
  one (or one without liaisons, or one the registry never announced) is routed around — to the
  rule's ``fallback_team`` — and the route says why (``Route.fell_back``).

A rule may say how the person is picked (``assign``): ``fixed`` (the default: the style's own
order, fewest open cases, the demand's own district first) or ``least_loaded``: of the qualified
handlers, the one with the least open work, each open demand weighted by the working time left
to its deadline (``weighted_load``): a colleague with two demands due this afternoon carries more
than one with three due next week. For ``team`` and ``checklist`` rules ``least_loaded`` proposes
a person of the team's district holding one of the rule's ``roles``; the team stays the fallback.

The first matching rule wins; rules for a district come before ``*`` rules. A style that finds no
one (no paired member, no volunteer, no partner able to take it) falls through to the rule's
``fallback_team``, so a demand is never routed to nobody, and the route says why it fell back.
Routing only proposes: whoever accepts the case owns it (首接负责制).
"""

from dataclasses import dataclass, field

from alliance_contracts.registry import PARTNER_ORGANISATION_TYPES

STYLES = ("expertise", "pairing", "volunteer", "checklist", "team", "partner")
# The organisations a partner rule or a referral may name: the registry's partner types, active
# (the registry's status) and with a liaison.
PARTNER_TYPES = PARTNER_ORGANISATION_TYPES
PARTNER_ACTIVE = "active"
ASSIGNMENTS = ("fixed", "least_loaded")
# Working minutes beyond which a deadline adds no urgency: five working days of the default calendar.
LOAD_HORIZON_MINUTES = 2700


@dataclass(frozen=True)
class Rule:
    category: str
    district: str
    style: str
    team: str | None = None
    skills: frozenset = field(default_factory=frozenset)
    fallback_team: str | None = None
    assign: str = "fixed"
    roles: frozenset = field(default_factory=frozenset)  # who qualifies for least_loaded team work
    organisation: str | None = None  # the partner organisation of a partner rule

    def __post_init__(self):
        if self.assign not in ASSIGNMENTS:
            raise ValueError(f"routing assign {self.assign!r} is not one of {ASSIGNMENTS}")
        if self.assign == "least_loaded" and self.style in ("team", "checklist") and not self.roles:
            raise ValueError(f"a least_loaded {self.style} rule for {self.category}/{self.district} needs roles")
        if self.style not in STYLES:
            raise ValueError(f"routing style {self.style!r} is not one of {STYLES}")
        if self.style in ("team", "checklist") and not self.team:
            raise ValueError(f"a {self.style} rule for {self.category}/{self.district} needs a team")
        if self.style == "expertise" and not self.skills:
            raise ValueError(f"an expertise rule for {self.category}/{self.district} needs skills")
        if self.style == "partner" and not self.organisation:
            raise ValueError(f"a partner rule for {self.category}/{self.district} needs an organisation")
        if self.style in ("expertise", "pairing", "volunteer", "partner") and not self.fallback_team:
            raise ValueError(f"a {self.style} rule for {self.category}/{self.district} needs a fallback_team")


@dataclass(frozen=True)
class Route:
    style: str
    assignee: str | None  # a person id, or None when routed to a team
    team: str | None
    rule: Rule
    organisation: str | None = None  # the partner organisation routed to
    fell_back: str | None = None  # why the style found no one and the fallback team got it


def partner_unavailable(organisation_id, partner):
    """Why the partner ``partner`` (the directory's row of ``organisation_id``, or None) cannot take
    a demand now; None when it can."""
    if partner is None:
        return f"partner organisation {organisation_id} is not known to the demand desk"
    if partner["status"] != PARTNER_ACTIVE:
        return f"partner organisation {partner['name']} ({organisation_id}) is {partner['status']}"
    if not partner["liaison_ids"]:
        return f"partner organisation {partner['name']} ({organisation_id}) has no liaison"
    return None


def weighted_load(open_work, now, calendar, horizon=LOAD_HORIZON_MINUTES, left=None):
    """The load of a person's open demands ``open_work`` (``[(resolution_due_at, paused_at)]``):
    each weighs 1, plus up to 1 more the closer its deadline is in working time (2 when due now or
    overdue, 1 when ``horizon`` working minutes or more are left). A paused demand counts the time
    that was left when its clock stopped. ``left``: working minutes from ``now`` to each running
    deadline, when the caller counted them already (``working_time_left``)."""
    if left is None:
        left = working_time_left([due for due, paused in open_work if paused is None], now, calendar, horizon)
    total = 0.0
    for due_at, paused_at in open_work:
        minutes = calendar.working_minutes(paused_at, due_at) if paused_at is not None else left[due_at]
        total += 1 + (horizon - min(minutes, horizon)) / horizon
    return total


def working_time_left(deadlines, now, calendar, horizon):
    """{deadline: working minutes from ``now`` to it} (capped at ``horizon``), the calendar walked
    once: each deadline counted from the one before; those beyond the horizon not walked to."""
    horizon_end = calendar.add(now, horizon)
    left, minutes, since = {}, 0.0, now
    for due_at in sorted(set(deadlines)):
        if due_at >= horizon_end:
            left[due_at] = horizon
            continue
        if due_at > since:
            minutes += calendar.working_minutes(since, due_at)
            since = due_at
        left[due_at] = minutes
    return left


class RoutingTable:
    def __init__(self, rules, calendar=None, horizon=LOAD_HORIZON_MINUTES):
        self.rules = [
            r
            if isinstance(r, Rule)
            else Rule(**{**r, "skills": frozenset(r.get("skills", ())), "roles": frozenset(r.get("roles", ()))})
            for r in rules
        ]
        self.calendar = calendar
        self.horizon = horizon
        if calendar is None and any(r.assign == "least_loaded" for r in self.rules):
            raise ValueError("least_loaded routing counts working time: the table needs the calendar")
        if not any(r.category == "*" and r.district == "*" for r in self.rules):
            raise ValueError("the routing table needs a catch-all rule (category '*', district '*')")

    def rule_for(self, category, district):
        def rank(rule):
            return (rule.district == "*", rule.category == "*")

        for rule in sorted(self.rules, key=rank):
            if rule.category in (category, "*") and rule.district in (district, "*"):
                return rule
        raise AssertionError("unreachable: the catch-all rule matches everything")

    def route(self, category, district, directory, now=None):
        """Propose who handles a demand. ``directory`` answers from the service's read model, for
        this demand's merchant: ``experts(skills)``, ``paired_members()``, ``volunteers()`` and
        ``holding(roles)`` and ``liaisons(organisation)`` each return person ids, best first (fewest
        open cases), ``partner(organisation_id)`` the organisation (None if unknown) and
        ``open_work(person_ids)`` their open demands' deadlines; ``now`` is needed by
        ``least_loaded`` rules."""
        rule = self.rule_for(category, district)
        organisation = None
        if rule.style == "partner":
            partner = directory.partner(rule.organisation)
            why = partner_unavailable(rule.organisation, partner)
            if why is not None:
                return Route(rule.style, None, rule.fallback_team, rule, fell_back=why)
            organisation = rule.organisation
        candidates = {
            "expertise": lambda: directory.experts(rule.skills),
            "pairing": lambda: directory.paired_members(),
            "volunteer": lambda: directory.volunteers(),
            "partner": lambda: directory.liaisons(partner),
        }.get(rule.style)
        if rule.assign == "least_loaded" and candidates is None:
            candidates = lambda: directory.holding(rule.roles)  # noqa: E731
        if candidates is None:
            return Route(rule.style, None, rule.team, rule)
        found = candidates()
        if found and rule.assign == "least_loaded":
            found = self.least_loaded_first(found, directory.open_work(found), now)
        if found:
            return Route(rule.style, found[0], None, rule, organisation=organisation)
        return Route(
            rule.style, None, rule.fallback_team or rule.team, rule, fell_back=f"no {rule.style} handler found"
        )

    def least_loaded_first(self, people, open_work, now):
        """``people`` by weighted load, least first (ties keep the directory's order)."""
        if now is None:
            raise ValueError("least_loaded routing needs the moment of routing")
        running = [due for work in open_work.values() for due, paused in work if paused is None]
        left = working_time_left(running, now, self.calendar, self.horizon)
        loads = {
            person: weighted_load(open_work.get(person, ()), now, self.calendar, self.horizon, left)
            for person in people
        }
        return sorted(people, key=lambda person: loads[person])
