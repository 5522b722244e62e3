"""Waiting-list offers (as pretix has them): a freed seat is not given to the first waiting
registration that fits but offered to it, and held for it, until the offer is accepted (the
registration is confirmed), declined (it is cancelled) or expires (it is cancelled too) — then the
seat is offered to the next waiting registration that fits, and is free again when nobody fits.

An offer lasts the configured time (``OFFER_VALID_MINUTES``), never beyond the activity's start.
Offers are made, and answered, from the opening of registration until the start — also after
registration closed: a seat freed the day before goes to the next waiter rather than staying empty
(no new registrations come then; the waiting list is who may still come). The start ends the offers
still open — those registrations wait again, in their place. A cancelled activity cancels its
registrations, offered ones with them.
"""

from alliance_contracts.events import OFFER_ENDINGS
from alliance_platform.errors import Conflict, Forbidden

from . import organisers
from .lifecycle import UPCOMING
from .registration import OFFERED

ACCEPTED, DECLINED = "accepted", "declined"
EXPIRED, REGISTRATION_CLOSED = OFFER_ENDINGS  # why an offer ended without an answer


def open_for_offers(activity, now):
    """Offers are made, and answered, from registration's opening until ``activity`` starts."""
    return activity["status"] in UPCOMING and activity["registration_opens_at"] <= now < activity["starts_at"]


def expires_at(activity, now, valid):
    """When an offer made ``now`` ends: after ``valid``, or when the activity starts if sooner."""
    return min(now + valid, activity["starts_at"])


def is_expired(registration, now):
    return registration["status"] == OFFERED and now >= registration["offer_expires_at"]


def require_responder(caller, registration, activity):
    """Who answers an offer: its registrant, a representative of the shop it is for, the
    activity's organisers on the registrant's behalf, systems and administrators."""
    if caller.kind == "system" or caller.is_admin or registration["person_id"] == caller.subject:
        return
    shop = registration["merchant_id"]
    if caller.kind == "merchant" and shop is not None and caller.merchant_id == str(shop):
        return
    if organisers.may_manage(caller, activity):
        return
    raise Forbidden("only the registrant, their shop or the activity's organisers answer this offer")


def check_answerable(registration, activity, now):
    """The offer of ``registration`` can be accepted or declined now; else a ``Conflict`` saying why."""
    if registration["status"] == OFFERED:
        if is_expired(registration, now):
            raise Conflict(_ended(registration, EXPIRED))
        if not open_for_offers(activity, now):
            raise Conflict(_ended(registration, REGISTRATION_CLOSED))
        return
    outcome = registration.get("offer_outcome")
    if outcome is None:
        raise Conflict(f"the registration is {registration['status']}: it has no offer to answer")
    raise Conflict(_ended(registration, outcome))


def _ended(registration, outcome):
    return {
        ACCEPTED: "the offer was already accepted: the seat is confirmed",
        DECLINED: "the offer was declined: its seat has passed on",
        EXPIRED: f"the offer expired at {registration['offer_expires_at'].isoformat()}: its seat has passed on",
        REGISTRATION_CLOSED: "the offer ended when the activity started",
    }[outcome]
