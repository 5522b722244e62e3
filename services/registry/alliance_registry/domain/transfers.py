"""The floating member's transfer (组织关系转接) as a workflow, and the activity card's period.

A floating Party member (流动党员) staying under six months carries the activity card
(流动党员活动证); beyond six months the membership should move to the local branch. The transfer
is *started* (a receiving Party branch, by default the member's local branch; the introduction
letter's number 介绍信编号 if there is one), then *completed* — the membership moves to the
receiving branch — or *declined* with a reason from a closed list. A member has at most one open
(started) transfer; after a decline another may be started. A member without an open transfer is
*due* from ``transfer_due_on`` and *not due* before; the latest closed transfer shows otherwise.
"""

from datetime import timedelta

from alliance_platform.errors import Conflict, ValidationError

from .membership import FLOATING_MONTHS, add_months

STARTED, COMPLETED, DECLINED = "started", "completed", "declined"
STATUSES = (STARTED, COMPLETED, DECLINED)
# What a floating member's transfer stands at, as the member's record shows it.
DUE, NOT_DUE = "due", "not_due"
STATES = (NOT_DUE, DUE, *STATUSES)
# Why a transfer is declined.
DECLINE_REASONS = (
    "leaving_district_soon",  # the member leaves the district before long
    "home_organisation_keeps",  # the home organisation keeps the membership
    "member_declines",  # the member does not want it
    "other",  # say which in the note
)
MAX_LETTER_NO = 40
MAX_NOTE = 500
# How a completed transfer was recorded: through the workflow, or in one step (record_transfer_in).
VIA_WORKFLOW, VIA_DIRECT = "workflow", "direct"


def check_can_start(member, open_transfer):
    """Only a floating member not yet transferred in, without an open transfer, starts one."""
    if not member["floating"]:
        raise Conflict("only a floating Party member's membership is transferred")
    if member["transferred_in_on"] is not None:
        raise Conflict(f"the membership was already transferred in on {member['transferred_in_on']}")
    if open_transfer is not None:
        raise Conflict(
            f"a transfer of this member is already open (started on {open_transfer['started_on']}):"
            " complete or decline it first"
        )


def started_on(member, requested, on_day):
    """The day a transfer starts: between the member's arrival and today, both included."""
    day = requested or on_day
    if day < member["arrived_on"] or day > on_day:
        raise ValidationError("invalid start date", {"started_on": ["between the arrival and today, both included"]})
    return day


def check_open(transfer, to_do):
    """A started transfer may be completed or declined; a closed one is what it is."""
    if transfer["status"] != STARTED:
        raise Conflict(f"the transfer is {transfer['status']}: it cannot {to_do}")


def completed_on(transfer, requested, on_day):
    """The day a transfer completes: between its start and today, both included."""
    day = requested or on_day
    if day < transfer["started_on"] or day > on_day:
        raise ValidationError(
            "invalid completion date", {"completed_on": ["between the transfer's start and today, both included"]}
        )
    return day


def check_decline(reason, note):
    """``other`` says which in the note."""
    if reason == "other" and not note:
        raise ValidationError("a reason to explain", {"note": ["say why when the reason is 'other'"]})


def state(member, latest, on_day):
    """Where a floating member's transfer stands on ``on_day`` (None for a member who is not floating).
    ``latest``: the member's newest transfer, if any."""
    if not member["floating"]:
        return None
    if latest is not None:
        return latest["status"]
    if member["transferred_in_on"] is not None:  # recorded before transfers were kept
        return COMPLETED
    return DUE if member["transfer_due_on"] <= on_day else NOT_DUE


def activity_card(member, on_day):
    """The activity card's period (流动党员活动证): issued on, valid until (issued plus six calendar
    months), and whether it has expired on ``on_day``. None when no card was recorded."""
    issued_on = member["activity_card_issued_on"]
    if not member["floating"] or issued_on is None:
        return None
    valid_until = add_months(issued_on, FLOATING_MONTHS)
    return {
        "card_no": member["activity_card_no"],
        "issued_on": issued_on,
        "valid_until": valid_until,
        "expired": on_day > valid_until,
        "days_left": max((valid_until - on_day) // timedelta(days=1), 0),
    }
