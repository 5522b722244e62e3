"""Party members: whole years of membership, and the floating member (流动党员) whose membership
should move to the local branch six calendar months after arrival."""

import calendar
from datetime import date

from alliance_platform.errors import Conflict, ValidationError

FLOATING_MONTHS = 6


def add_months(day, months):
    """``day`` plus whole calendar months; the 31st of August plus six months is the end of February."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def transfer_due_on(arrived_on):
    """When a floating member's membership should move to the local branch (流动党员 beyond 6 months)."""
    return add_months(arrived_on, FLOATING_MONTHS)


def party_age(joined_on, on_day):
    """Whole years of Party membership on ``on_day``."""
    years = on_day.year - joined_on.year
    return years - ((on_day.month, on_day.day) < (joined_on.month, joined_on.day))


def check_new_member(joined_on, floating, on_day):
    """Neither joining nor a floating member's arrival lies after ``on_day``."""
    errors = {}
    if joined_on > on_day:
        errors["joined_on"] = ["cannot be in the future"]
    if floating and floating["arrived_on"] > on_day:
        errors["floating"] = {"arrived_on": ["cannot be in the future"]}
    if errors:
        raise ValidationError("invalid Party member", errors)


def new_member(person_id, branch, cmd, now, on_day):
    """The Party member ``cmd`` registers in ``branch``, as stored and announced."""
    floating = cmd["floating"] or {}
    check_new_member(cmd["joined_on"], floating, on_day)
    return {
        "person_id": person_id,
        "branch_id": branch["id"],
        "district_id": branch["district_id"],
        "joined_on": cmd["joined_on"],
        "membership": cmd["membership"],
        "floating": bool(floating),
        "home_organisation": floating.get("home_organisation"),
        "home_province": floating.get("home_province"),
        "activity_card_no": floating.get("activity_card_no"),
        "activity_card_issued_on": floating.get("activity_card_issued_on"),
        "arrived_on": floating.get("arrived_on"),
        "transfer_due_on": transfer_due_on(floating["arrived_on"]) if floating else None,
        "registered_at": now,
    }


def transferred_on(member, requested, on_day):
    """The day a floating member's transfer in is recorded for: between arrival and today."""
    if not member["floating"]:
        raise Conflict("only a floating Party member transfers in")
    if member["transferred_in_on"] is not None:
        raise Conflict(f"the transfer was already recorded on {member['transferred_in_on']}")
    day = requested or on_day
    if day < member["arrived_on"] or day > on_day:
        raise ValidationError(
            "invalid transfer date", {"transferred_on": ["between the arrival and today, both included"]}
        )
    return day
