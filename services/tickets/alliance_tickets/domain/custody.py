"""The custody log of assisted handling (帮办): documents the centre holds for the merchant.

Each item is received (what, from whom, when, by whom, where it is kept), may move between places
while held, is handed back (when, to whom, by whom), and the merchant confirms the return. Only an
assisted demand keeps one; documents are received while the demand is not final, but moved,
returned and confirmed whatever the ticket's state: the log is never lost when the ticket closes.
"""

from alliance_platform.errors import Conflict

from . import lifecycle as lc

HELD, RETURNED, CONFIRMED = "held", "returned", "confirmed"


def state_of(item):
    if item["confirmed_at"] is not None:
        return CONFIRMED
    return RETURNED if item["returned_at"] is not None else HELD


def require_may_receive(ticket):
    if ticket["handling_mode"] != "assisted":
        raise Conflict(f"{ticket['reference']} is handled on the spot: only assisted handling (帮办) holds documents")
    if ticket["status"] in lc.FINAL:
        raise Conflict(f"{ticket['reference']} is {ticket['status']}: no more documents are taken in")


def require_held(item):
    if state_of(item) != HELD:
        raise Conflict(f"{item['document']} was handed back already")


def require_returned(item):
    state = state_of(item)
    if state == HELD:
        raise Conflict(f"{item['document']} is still held by the centre: it cannot be confirmed as returned")
    if state == CONFIRMED:
        raise Conflict(f"the return of {item['document']} was confirmed already")
