"""A registration: who registers and for whom, its states, its check-in code and what is shown.

People register themselves (or their child); a merchant's representative registers for its own
shop; only internal systems and administrators register someone else or for another district.
The check-in code — the ticket at the venue — is shown to its registrant while it holds a seat.

A waiting registration a seat is offered to is ``offered`` until it answers (``offers``). The
contract's statuses (``alliance_contracts.events.REGISTRATION_STATUSES``) were released without it,
and a new value in a result's enum would break callers: it is shown as ``waitlisted`` — it has no
seat yet — with its ``offer`` beside (a new field); events say ``was: waitlisted`` for it.
"""

from alliance_contracts.events import HELD as SHOWN_HELD  # a seat or a place, as the contract names them
from alliance_platform.errors import Forbidden, ValidationError
from alliance_platform.identity import ALL_DISTRICTS

from . import check_in

CONFIRMED, WAITLISTED = SHOWN_HELD
OFFERED = "offered"  # waiting, and offered a seat held for it
# Holding a seat, an offered seat or a place in the waiting list.
HELD = (CONFIRMED, OFFERED, WAITLISTED)
CANCELLED, ATTENDED, NO_SHOW = "cancelled", "attended", "no_show"
# Given a seat, whatever became of it: the registrations an activity's attendance is counted on.
SEATED = (CONFIRMED, ATTENDED, NO_SHOW)
# Holding a seat now: the check-in code is its ticket.
TICKETED = (CONFIRMED, ATTENDED)

# A registration's check-in code: the same codes as a branch meeting's invitees (``check_in``).
check_in_code = check_in.code


def _acts_for_others(caller):
    return caller.kind == "system" or caller.is_admin


def registrant(caller, cmd):
    """Who registers, for which merchant and district: ``(person_id, merchant_id, district_id)``."""
    acting_for_others = _acts_for_others(caller)
    person_id = cmd.get("person_id") or caller.subject
    if person_id != caller.subject and not acting_for_others:
        raise Forbidden("a person registers only themselves (or their child)")
    named = None if cmd.get("merchant_id") is None else str(cmd["merchant_id"])
    if caller.kind == "merchant" and named not in (None, caller.merchant_id):
        raise Forbidden("a merchant's representative registers for its own shop only")
    merchant_id = caller.merchant_id if caller.kind == "merchant" else named
    district = cmd.get("district_id")
    own_districts = sorted(d for d in caller.districts if d != ALL_DISTRICTS)
    if district is None:
        if len(own_districts) != 1:
            raise ValidationError("district needed", {"district_id": ["your identity names no single district"]})
        district = own_districts[0]
    elif not acting_for_others and not caller.covers_district(district):
        # Someone whose identity covers every district (the alliance's own staff) names the one
        # whose quota their seat counts against; anyone else only one of their own.
        raise Forbidden(f"you do not belong to {district}")
    return person_id, merchant_id, district


def require_registrant(caller, registration):
    """Only its registrant cancels a registration (or a system, or an administrator)."""
    if registration["person_id"] != caller.subject and not _acts_for_others(caller):
        raise Forbidden("only the registrant may cancel this registration")


def public_status(status):
    """The status as the contract names it: an offered registration still waits for its seat."""
    return WAITLISTED if status == OFFERED else status


def offer(registration):
    """The open offer of ``registration`` (when it was made, until when it may be accepted), or None."""
    if registration["status"] != OFFERED:
        return None
    return {"offered_at": registration["offered_at"], "expires_at": registration["offer_expires_at"]}


def shown(registration, activity, ticket):
    """A registration as it is shown: with its activity's title, start and venue, its ``place`` in
    the waiting list now (only while it waits: 1 is the next to get a seat; not its number in the
    queue, which keeps the order but not the count), its open ``offer`` (None without one), and its
    check-in code only if ``ticket`` and it holds a seat."""
    place = registration.get("place") if registration["status"] == WAITLISTED else None
    seen = {
        **registration,
        "status": public_status(registration["status"]),
        "offer": offer(registration),
        "title": activity["title"],
        "starts_at": activity["starts_at"],
        "venue": activity["venue"],
        "place": place,
        "position": place,  # the same, under its first name
    }
    if not (ticket and registration["status"] in TICKETED):
        del seen["check_in_code"]
    return seen
