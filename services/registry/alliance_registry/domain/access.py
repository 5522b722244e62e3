"""Who may call what, and whose records a caller reaches.

Roles decide which methods a caller may call (the groups below, checked by the entrypoints); the
data decides the rest, checked by the use cases: staff act in their districts (an administrator
everywhere), a merchant reaches only its own record and its owner's.
"""

from alliance_platform.errors import Forbidden
from alliance_platform.identity import ALL_DISTRICTS

ADMIN = ("admin",)
STAFF = ("admin", "staff", "system")
SELF_SERVICE = (*STAFF, "merchant")
READERS = (*STAFF, "branch_secretary")
MEMBER_KEEPERS = (*STAFF, "branch_secretary")
OPERATORS = ("admin", "operator")  # who runs the platform (the ID-card key's rotation)


def is_merchant(caller):
    return caller.kind == "merchant"


def district_scope(caller):
    """The districts whose records ``caller`` may read: None for all, else a set (maybe empty)."""
    if caller.is_admin or ALL_DISTRICTS in caller.districts:
        return None
    return set(caller.districts)


def narrow_districts(caller, requested):
    """The districts a query may cover: those requested (each must be in scope) or the whole scope."""
    scope = district_scope(caller)
    if requested:
        for district in requested:
            caller.require_district(district)
        return sorted(requested)
    return None if scope is None else sorted(scope)


def require_merchant_access(caller, merchant):
    """A merchant reaches only its own record; everyone else, the districts of their scope."""
    if is_merchant(caller):
        if caller.merchant_id != str(merchant["merchant_id"]):
            raise Forbidden("a merchant may reach only its own record")
    else:
        caller.require_district(merchant["district_id"])


def require_person_access(caller, person, owns_callers_merchant):
    """A merchant reaches its owner's record (or its own person); others, their districts.
    ``owns_callers_merchant()`` tells whether the person owns the calling merchant (asked only
    when it decides)."""
    if is_merchant(caller):
        own = caller.subject == person["person_id"] or (caller.merchant_id is not None and owns_callers_merchant())
        if not own:
            raise Forbidden("a merchant may reach only its own owner's record")
    elif not caller.is_admin:
        caller.require_district(person["district_id"])


def require_id_card_lookup(caller):
    if not caller.is_admin:
        raise Forbidden("only an alliance administrator may look people up by ID-card number")


def require_districts(caller, districts):
    """Every district of ``districts`` is one the caller acts for."""
    outside = sorted({str(d) for d in districts if not caller.covers_district(d)})
    if outside:
        raise Forbidden(f"{caller.kind} {caller.subject} may not reach records of districts {outside}")


def require_districts_any(caller, districts):
    """The caller acts for at least one of ``districts`` (a transfer: either branch's district)."""
    if not any(caller.covers_district(d) for d in districts):
        raise Forbidden(f"{caller.kind} {caller.subject} may not reach records of districts {sorted(set(districts))}")
