"""Who a message is for, named by key: ``merchant:<id>`` (a shop: its inbox, its contact phone),
``person:<id>`` or ``group:<name>`` (a staff group's robot). Deliveries and events name
recipients by key, never by phone number or address.

Nobody reads or changes anyone else's inbox or preferences: the recipients a caller may act for
follow from their verified identity alone.
"""

from alliance_platform.errors import Forbidden

MERCHANT, PERSON, GROUP = "merchant", "person", "group"


def key(kind, ident):
    return f"{kind}:{ident}"


def kind_of(recipient):
    return recipient.partition(":")[0]


def own(caller):
    """The inboxes a caller owns: their own as a person, and their shop's for a merchant."""
    if caller.kind == "system":
        raise Forbidden("internal systems have no inbox or preferences")
    mine = [key(PERSON, caller.subject)]
    if caller.kind == "merchant" and caller.merchant_id:
        mine.insert(0, key(MERCHANT, caller.merchant_id))
    return mine


def chosen(caller, recipient):
    """The caller's own inboxes, or the one they name if it is theirs (else ``Forbidden``)."""
    mine = own(caller)
    if recipient is None:
        return mine
    if recipient not in mine:
        raise Forbidden("a person reads and changes only their own inbox and preferences")
    return [recipient]
