"""Organisations (组织联建): the kinds the register holds (the ``organisations`` table's own check
lists the same), the two the rules name, and what an administrator may do to the tree.

The organisations form a forest (the street committee and Debai Group are roots; the alliance sits
under the committee, the branches under the alliance). A move may not put an organisation under
itself or one of its descendants. Retiring is refused while something still needs the
organisation — active child organisations, Party members of a branch (and so their open pairings),
or the alliance itself (it awards honours) — so that nothing is left pointing at a retired body;
the organisation's liaisons are released (they stay in the register) and the history keeps them.
A retired organisation is kept (honours, points and history name it) but changes no more.
"""

from alliance_contracts.registry import ORGANISATION_STATUSES as STATUSES
from alliance_contracts.registry import ORGANISATION_TYPES as ORGANISATION_TYPES
from alliance_contracts.registry import PARTNER_ORGANISATION_TYPES
from alliance_platform.errors import Conflict, ValidationError

ALLIANCE = "alliance"  # the alliance itself: the organisation that awards honours unless told otherwise
PARTY_BRANCH = "party_branch"  # the organisations Party members belong to
PARTNER_TYPES = PARTNER_ORGANISATION_TYPES  # the partners demands are referred to (转办)
ACTIVE, RETIRED = STATUSES
# The changes an organisation's history and events name, one per command.
ADDED, RENAMED, MOVED, RETIRED_CHANGE, LIAISONS_CHANGED = "added", "renamed", "moved", "retired", "liaisons_changed"
CHANGES = (ADDED, RENAMED, MOVED, RETIRED_CHANGE, LIAISONS_CHANGED)
EVENTS = {
    ADDED: "organisation_added",
    RENAMED: "organisation_renamed",
    MOVED: "organisation_moved",
    RETIRED_CHANGE: "organisation_retired",
    LIAISONS_CHANGED: "organisation_liaisons_changed",
}
MAX_LIAISONS = 10
# What an organisation's state is made of (events, history): everything but timestamps.
STATE = (
    "organisation_id",
    "type",
    "name",
    "name_en",
    "short_name",
    "parent_id",
    "district_id",
    "status",
    "liaison_ids",
)


def state(organisation):
    return {k: organisation[k] for k in STATE}


def check_new(cmd, parent, alliance_exists):
    """A new organisation: a Party branch names its district; there is one alliance; a parent,
    when named, is active."""
    if cmd["type"] == PARTY_BRANCH and cmd.get("district_id") is None:
        raise ValidationError("a Party branch belongs to a district", {"district_id": ["required for a party_branch"]})
    if cmd["type"] == ALLIANCE and alliance_exists:
        raise Conflict("the register already has the alliance; there is only one")
    if parent is not None:
        check_active(parent, "be a parent")


def check_active(organisation, doing):
    if organisation["status"] != ACTIVE:
        raise Conflict(f"organisation {organisation['organisation_id']} is retired: it cannot {doing}")


def check_move(organisation, new_parent, ancestors_of_parent):
    """``organisation`` may go under ``new_parent`` (None: become a root). ``ancestors_of_parent``:
    the ids from the new parent up to its root, the parent included."""
    check_active(organisation, "be moved")
    if new_parent is None:
        return
    check_active(new_parent, "be a parent")
    if organisation["organisation_id"] in ancestors_of_parent:
        raise Conflict(
            f"moving {organisation['organisation_id']} under {new_parent['organisation_id']} would make a cycle:"
            f" {new_parent['organisation_id']} is {organisation['organisation_id']} or one of its descendants"
        )


def retirement_blockers(organisation, active_children, party_members, open_pairings, open_transfers=0):
    """Why ``organisation`` may not be retired yet (empty when it may), in words staff can act on."""
    blockers = []
    if organisation["type"] == ALLIANCE:
        blockers.append("the alliance awards honours and heads the branches: it cannot be retired")
    if active_children:
        blockers.append(f"active organisations under it ({', '.join(active_children)}): move or retire them first")
    if party_members:
        blockers.append(f"{party_members} Party member(s) belong to it: register them with another branch first")
    if open_pairings:
        blockers.append(f"{open_pairings} open pairing(s) of its members: end them first")
    if open_transfers:
        blockers.append(f"{open_transfers} open transfer(s) of floating members to it: complete or decline them first")
    return blockers


def check_retire(organisation, active_children, party_members, open_pairings, open_transfers=0):
    check_active(organisation, "be retired again")
    blockers = retirement_blockers(organisation, active_children, party_members, open_pairings, open_transfers)
    if blockers:
        raise Conflict(f"organisation {organisation['organisation_id']} cannot be retired: " + "; ".join(blockers))


def liaison_change(current, requested):
    """(added, removed) between the liaison lists ``current`` and ``requested`` (ids, in order)."""
    added = [p for p in requested if p not in current]
    removed = [p for p in current if p not in requested]
    return added, removed
