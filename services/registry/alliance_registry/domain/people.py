"""People's roles and what a person (or a merchant for its owner) may change.

A person's roles are ``PERSON_ROLES`` (the contract's list, in its order): the implied ones follow
from the register itself and are kept by the service — owning a merchant, being registered as a
Party member —; the assigned ones are the caller's to give.
"""

from alliance_contracts.registry import ASSIGNED_ROLES, IMPLIED_ROLES, LANGUAGES, PERSON_ROLES
from alliance_platform.errors import Forbidden

MERCHANT_OWNER, PARTY_MEMBER = IMPLIED_ROLES
DEFAULT_LANGUAGE = LANGUAGES[0]  # a person's language unless they choose another

# The fields of a person an update may change directly (roles, teams and the ID card have rules).
UPDATABLE = ("name", "mobile", "skills", "language", "district_id")
# What a person may change in their own record (a merchant's owner acting for themself).
SELF_SERVICE = {"name", "mobile", "skills", "language"}
# What a merchant may not touch in its owner's record.
NOT_FOR_MERCHANTS = {"roles", "teams", "district_id", "id_card_no"}
# What a person's history records of their registration.
REGISTERED_DETAILS = ("name", "mobile", "roles", "skills", "teams", "language", "district_id")


def ordered_roles(roles):
    """Roles once each, in the contract's order."""
    return sorted(set(roles), key=PERSON_ROLES.index)


def teams(names):
    return sorted(set(names))


def check_self_service(caller, requested):
    if caller.kind == "merchant" and set(requested) & NOT_FOR_MERCHANTS:
        raise Forbidden(f"a merchant may change only {', '.join(sorted(SELF_SERVICE))}")


def roles_after_update(current, assigned):
    """The caller assigns roles; the implied ones the person holds stay."""
    return ordered_roles((set(current) - set(ASSIGNED_ROLES)) | set(assigned))


def implied_roles(current, owns_a_merchant, is_party_member):
    """``current`` with the implied roles brought in line with the facts of the register."""
    roles = set(current) - set(IMPLIED_ROLES)
    roles |= {MERCHANT_OWNER} if owns_a_merchant else set()
    roles |= {PARTY_MEMBER} if is_party_member else set()
    return ordered_roles(roles)


def event_state(person):
    """A person as events carry it: whether there is an ID-card number, never the number."""
    return {**person, "has_id_card": person["id_card_masked"] is not None}


def shown(person, id_card_no=None):
    """A person as callers see it: the ID-card number masked unless ``id_card_no`` is given."""
    visible = {k: v for k, v in person.items() if k != "id_card_masked"}
    visible["id_card_no"] = id_card_no or person["id_card_masked"]
    return visible
