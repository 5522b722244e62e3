"""Whom an activity is for: kinds of people (``alliance_contracts.events.AUDIENCES``: merchants,
Party members, staff, merchants' children) and, if it names them, districts. Internal systems and
administrators register anyone; an activity for children takes a child's name (and only such an
activity does)."""

from alliance_platform.errors import Forbidden, ValidationError

# The roles that make a caller one of an audience kind; merchants are callers of kind merchant.
ROLES_OF = {"party_members": {"party_member"}, "staff": {"staff", "admin", "branch_secretary", "volunteer"}}


def check(caller, activity, district, cmd):
    """May ``caller`` register (for ``district``, with ``cmd``'s child) for ``activity``?"""
    audience = activity["audience"]
    districts = audience.get("districts") or []
    if districts and district not in districts:
        raise Forbidden(f"{activity['title']} is for {', '.join(districts)}")
    kinds = set(audience.get("kinds") or [])
    if "children" in kinds and not cmd.get("child_name"):
        raise ValidationError("child needed", {"child_name": ["this activity is for merchants' children"]})
    if cmd.get("child_name") and "children" not in kinds:
        raise ValidationError("not for children", {"child_name": ["this activity does not take children"]})
    if caller.kind == "system" or caller.is_admin or "children" in kinds:
        return
    allowed = ("merchants" in kinds and caller.kind == "merchant") or any(
        caller.has_any_role(ROLES_OF.get(kind, ())) for kind in kinds
    )
    if not allowed:
        raise Forbidden(f"{activity['title']} is for {', '.join(sorted(kinds))}")
