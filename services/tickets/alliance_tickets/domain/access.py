"""Who may do what with a ticket, decided on the ticket itself (the RPC roles are only the door).

- A merchant sees and acts on its own shop's tickets only, and sees only what is meant for it
  (no routing, no internal notes).
- A handler holds one of ``HANDLER_ROLES`` and covers the ticket's district, or is the person who
  owns it or was proposed for it (a task sent to another unit reaches its people that way).
- An administrator covers every district; only an administrator may reopen a ticket outside the
  merchant's dispute window.
- A list or a count covers what the caller may see: a merchant its own tickets, a caller of every
  district (an administrator, a system) all of them, anyone else their districts' tickets and the
  cases they own or were proposed for.
"""

from dataclasses import dataclass

from alliance_platform.errors import Forbidden
from alliance_platform.identity import ALL_DISTRICTS

# The roles that handle demands; the service's handling commands admit these and no others.
HANDLER_ROLES = ("admin", "staff", "branch_secretary", "department_liaison", "volunteer", "system")
# How the service signs what it does by itself (timers, reactions): the actor on the timeline.
SERVICE_ACTOR = "system:tickets"


def actor(caller):
    """The timeline's actor for what ``caller`` does (the service itself when nobody called)."""
    return SERVICE_ACTOR if caller is None else f"{caller.kind}:{caller.subject}"


def is_merchant_of(caller, ticket):
    return caller.kind == "merchant" and caller.merchant_id == str(ticket["merchant_id"])


def is_handler_of(caller, ticket):
    if caller.kind == "merchant" or not caller.has_any_role(HANDLER_ROLES):
        return False
    return caller.covers_district(ticket["district_id"]) or caller.subject in (
        ticket["responsible_id"],
        ticket["proposed_id"],
    )


def sees_internals(caller, ticket):
    """Whether ``caller`` sees the handling side of ``ticket`` (routing, checklist, internal notes)."""
    return not is_merchant_of(caller, ticket) or is_handler_of(caller, ticket)


def require_view(caller, ticket):
    if not (is_merchant_of(caller, ticket) or is_handler_of(caller, ticket)):
        raise Forbidden(f"{caller.kind} {caller.subject} may not see ticket {ticket['reference']}")


def require_handler(caller, ticket):
    if not is_handler_of(caller, ticket):
        raise Forbidden(f"only staff of {ticket['district_id']} or its owner may handle {ticket['reference']}")


def require_merchant(caller, ticket):
    if not is_merchant_of(caller, ticket):
        raise Forbidden(f"only the merchant may do this on {ticket['reference']}")


def require_merchant_or_handler(caller, ticket, doing):
    if not (is_merchant_of(caller, ticket) or is_handler_of(caller, ticket)):
        raise Forbidden(f"only the merchant or its handlers may {doing} on {ticket['reference']}")


def require_may_submit(caller, merchant):
    """A merchant submits for its own shop; a handler for the shops of its districts."""
    if caller.kind == "merchant":
        if caller.merchant_id != str(merchant["merchant_id"]):
            raise Forbidden("a merchant submits demands for its own shop only")
    elif not caller.has_any_role(HANDLER_ROLES) or not caller.covers_district(merchant["district_id"]):
        raise Forbidden(f"{actor(caller)} may not submit demands in {merchant['district_id']}")


@dataclass(frozen=True)
class Scope:
    """The tickets a caller's lists and figures cover: everything, one merchant's, or some
    districts' plus the cases of one person."""

    everything: bool = False
    merchant_id: str | None = None
    districts: tuple = ()
    person_id: str | None = None


def scope_of(caller):
    if caller.kind == "merchant":
        return Scope(merchant_id=caller.merchant_id)
    if caller.is_admin or ALL_DISTRICTS in caller.districts or caller.kind == "system":
        return Scope(everything=True)
    return Scope(districts=tuple(sorted(caller.districts)), person_id=caller.subject)
