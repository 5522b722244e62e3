"""Whom a rule names, and how to reach them: the steps of a notification's audience.

A step is one of: a registry query (``{"registry": {...}}``, optionally keeping only some
``districts`` of what it returns), a staff group's robot (``{"group": name}``), or ids the
registry cannot know (``{"unresolved": [key, ...]}``: they still have an inbox). A notification
stores its steps, so a fan-out interrupted by a registry outage resumes where it stopped: it is
``resolving`` until every step is done (``resolved``), or ``failed`` if the registry refused a
query (asking again cannot help).

Recipient kinds a rule may name: ``merchant`` / ``person`` (one id in a payload field),
``people`` (a list of person ids), ``audience`` (an activity's audience: kinds and districts),
``role`` (a registry role, with ``in_district`` naming the payload field of the district to keep),
``team`` (the members of the team the field names, as the registry's people carry them),
``organisation`` (the liaisons of the registry's organisation the field names, as they are when
the audience is resolved: a liaison changed or an organisation retired since the event is followed),
``staff_group`` (the group robot of the district or group the field names).
"""

import uuid
from dataclasses import dataclass

from . import recipients

RESOLVING, RESOLVED, UNRESOLVABLE = "resolving", "resolved", "failed"  # a notification's audience

RECIPIENT_KINDS = ("merchant", "person", "people", "audience", "role", "team", "organisation", "staff_group")
# Ids per registry call: the registry's largest ``resolve_audience`` page and id list.
REGISTRY_BATCH = 1000
# Districts per registry call (``resolve_audience`` takes at most ten).
DISTRICTS_PER_CALL = 10
_AUDIENCE_ROLES = {"party_members": "party_member", "staff": "staff"}


@dataclass(frozen=True)
class Recipients:
    kind: str
    field: str | None = None  # the payload field naming them
    role: str | None = None
    in_district: str | None = None

    def steps(self, payload, policy):
        """How to reach them: registry queries, staff groups, or ids the registry cannot resolve."""
        if self.kind == "role":
            step = {"registry": {"role": self.role}}
            district = payload.get(self.in_district) if self.in_district else None
            return [{**step, "districts": [district]}] if district else [step]
        value = payload.get(self.field)
        if value in (None, "", []):
            return []
        if self.kind == "staff_group":
            return [{"group": str(value)}]
        if self.kind == "team":
            return [{"registry": {"team": str(value)}}]
        if self.kind == "organisation":
            return [{"registry": {"organisation_id": str(value)}}]
        if self.kind == "audience":
            return _audience_steps(value, policy)
        ids = [str(v) for v in (value if self.kind == "people" else [value])]
        return id_steps(recipients.MERCHANT if self.kind == "merchant" else recipients.PERSON, ids)


def _audience_steps(audience, policy):
    districts = sorted(set(audience.get("districts") or policy.districts))
    steps = []
    for kind in sorted(set(audience.get("kinds") or ["merchants"])):
        if kind in ("merchants", "children"):  # children are reached through their parents' shops
            for n in range(0, len(districts), DISTRICTS_PER_CALL):
                step = {"registry": {"districts": districts[n : n + DISTRICTS_PER_CALL]}}
                if step not in steps:
                    steps.append(step)
        else:
            steps.append({"registry": {"role": _AUDIENCE_ROLES[kind]}, "districts": districts})
    return steps


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def id_steps(kind, ids):
    """Steps reaching the ``kind`` ("merchant" or "person") of ``ids``."""
    known = sorted({i for i in ids if _is_uuid(i)})
    steps = [{"registry": {f"{kind}_ids": known[n : n + REGISTRY_BATCH]}} for n in range(0, len(known), REGISTRY_BATCH)]
    # An id the registry cannot hold (not a UUID) is still someone's inbox.
    others = sorted({i for i in ids if not _is_uuid(i)})
    if others:
        steps.append({"unresolved": [recipients.key(kind, i) for i in others]})
    return steps


def kind_of_query(query):
    """The kind of recipient a registry query of ids names ("merchant" or "person")."""
    return recipients.MERCHANT if f"{recipients.MERCHANT}_ids" in query else recipients.PERSON
