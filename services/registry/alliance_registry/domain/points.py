"""Party members' points (党员积分): a ledger per member whose entries are never edited nor
deleted; a mistake is undone by a correction, a new entry naming the one it corrects.

Points come from facts the other services announce, by rules of the configuration
(``POINTS_RULES``: rule -> points, 0 turns a rule off), or from an administrator by hand (with a
reason). A rule may take points away (a no-show's −1). Each rule gives a member points once per
thing it rewards (a registration attended, a demand closed, a pairing ended), however often the
fact is announced: ``award_key``.
"""

from dataclasses import dataclass

from alliance_contracts.registry import POINTS_KINDS, POINTS_SOURCES
from alliance_platform.errors import ValidationError

AWARD, MANUAL, CORRECTION = KINDS = POINTS_KINDS
# The facts that give points, as ``source.event_type``, or an administrator's hand; the rules.
CHECKED_IN, TICKET_CLOSED, PAIRING_ENDED, MANUAL_SOURCE, NO_SHOWS_RECORDED, MEETING_HELD = SOURCES = POINTS_SOURCES
RULES = {
    "attended_activity": CHECKED_IN,  # checked in at an activity's venue
    "no_show": NO_SHOWS_RECORDED,  # registered for an activity (a seat held) and did not come
    "attended_meeting": MEETING_HELD,  # checked in at a branch meeting (三会一课)
    "handled_demand": TICKET_CLOSED,  # the responsible person of a demand closed
    "good_rating": TICKET_CLOSED,  # ... that the merchant rated 4 or 5
    "completed_pairing": PAIRING_ENDED,  # a pairing (结对) the member was in ended
}
GOOD_RATING = 4
MAX_MANUAL_POINTS = 100  # one manual entry or correction, either way


@dataclass(frozen=True)
class Award:
    """Points one rule gives one member for one thing (``entity_id``)."""

    rule: str
    person_id: str
    entity_id: str
    points: int
    reason: str


@dataclass(frozen=True)
class PointsRules:
    points: dict  # rule -> points (an int; 0: the rule gives nothing)

    @classmethod
    def from_config(cls, config):
        configured = dict(config.get("POINTS_RULES") or {})
        unknown = sorted(set(configured) - set(RULES))
        if unknown:
            raise ValueError(f"POINTS_RULES: unknown rules {unknown}; known: {sorted(RULES)}")
        points = {}
        for rule in RULES:
            value = configured.get(rule, 0)
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_MANUAL_POINTS:
                raise ValueError(f"POINTS_RULES.{rule} must be a whole number of points, not {value!r}")
            points[rule] = value
        return cls(points)

    def awards(self, source, payload):
        """The awards ``source``'s fact (its payload) gives, those of rules turned off left out."""
        return [
            Award(rule, person_id, entity_id, self.points[rule], reason)
            for rule, person_id, entity_id, reason in _rewarded(source, payload)
            if self.points[rule]
        ]


def _rewarded(source, payload):
    """(rule, person_id, entity_id, reason) of each rule ``source``'s fact meets."""
    if source == CHECKED_IN:
        return [
            ("attended_activity", payload["person_id"], payload["registration_id"], f"参加活动：{payload['title']}")
        ]
    if source == TICKET_CLOSED:
        responsible, ticket, reference = payload["responsible_id"], payload["ticket_id"], payload["reference"]
        if responsible is None:
            return []
        found = [("handled_demand", responsible, ticket, f"办结商户诉求 {reference}")]
        if payload["rating"] is not None and payload["rating"] >= GOOD_RATING:
            found.append(("good_rating", responsible, ticket, f"诉求 {reference} 获商户好评（{payload['rating']}分）"))
        return found
    if source == PAIRING_ENDED:
        return [("completed_pairing", payload["person_id"], payload["pairing_id"], "完成结对帮扶")]
    if source == NO_SHOWS_RECORDED:
        return [
            ("no_show", each["person_id"], each["registration_id"], f"报名未参加活动：{payload['title']}")
            for each in payload["no_shows"]
        ]
    if source == MEETING_HELD:
        # The meeting is the thing rewarded: a member is in its roll once.
        return [
            ("attended_meeting", person_id, payload["meeting_id"], f"参加组织生活：{payload['title']}")
            for person_id in payload["attended"]
        ]
    raise ValueError(f"no points rule for {source}")


def award_key(award):
    """What makes an award unique: a rule rewards a member once per thing, however often announced."""
    return f"{award.rule}:{award.entity_id}:{award.person_id}"


def check_correction(corrected, person_id):
    """A correction corrects an entry of the same member."""
    if corrected["person_id"] != str(person_id):
        raise ValidationError("invalid correction", {"corrects": ["an entry of another member"]})


def check_period(period_from, period_to):
    if period_from is not None and period_to is not None and period_from > period_to:
        raise ValidationError("invalid period", {"to": ["on or after from"]})


def ranked(rows):
    """Rows ordered by points (most first), each with its rank: equal points share a rank and the
    next rank counts them (1, 1, 3)."""
    rank, previous = 0, None
    out = []
    for position, row in enumerate(rows, start=1):
        if row["points"] != previous:
            rank, previous = position, row["points"]
        out.append({**row, "rank": rank})
    return out


# What the member's history keeps of an entry, and what ``points_recorded`` says of it.
HISTORY_DETAILS = ("entry_id", "points", "kind", "rule", "source", "source_entity_id", "reason", "corrects_id")
ANNOUNCED = (
    "entry_id",
    "person_id",
    "points",
    "balance",
    "kind",
    "rule",
    "source",
    "source_event_id",
    "source_entity_id",
    "reason",
    "branch_id",
    "district_id",
    "corrects_id",
    "created_at",
    "actor",
)


def announced(entry):
    return {k: entry[k] for k in ANNOUNCED}
