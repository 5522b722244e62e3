"""A merchant's statuses, the moves between them, and what a merchant may change itself."""

from alliance_contracts.registry import MERCHANT_STATUSES
from alliance_platform.errors import Conflict, Forbidden

ACTIVE, SUSPENDED, CLOSED = MERCHANT_STATUSES

# Status moves a merchant may make; closed is final (a shop that reopens registers again).
TRANSITIONS = {
    ACTIVE: {SUSPENDED, CLOSED},
    SUSPENDED: {ACTIVE, CLOSED},
    CLOSED: set(),
}

# The fields of a merchant an update may change.
UPDATABLE = ("shop_name", "district_id", "unit_no", "category", "contact_phone", "online_shop_url", "owner_id")
# What a merchant may change in its own record; the rest is the alliance staff's to change.
SELF_SERVICE = {"shop_name", "unit_no", "category", "contact_phone", "online_shop_url"}


def check_status_change(old, new):
    if new == old:
        raise Conflict(f"the merchant is already {old}")
    if new not in TRANSITIONS[old]:
        raise Conflict(f"a {old} merchant cannot become {new}")


def check_self_service(caller, requested):
    """A merchant changes only its plain details in its own record."""
    if caller.kind == "merchant" and set(requested) - SELF_SERVICE:
        raise Forbidden(f"a merchant may change only {', '.join(sorted(SELF_SERVICE))}")


def check_open(merchant, what):
    """A closed merchant is neither honoured nor paired: ``what`` names the refused act."""
    if merchant["status"] == CLOSED:
        raise Conflict(f"a closed merchant cannot be {what}")


def state(merchant):
    """What a merchant's history records of it: its fields, without key, version and times."""
    return {k: v for k, v in merchant.items() if k not in ("merchant_id", "version", "registered_at", "updated_at")}
