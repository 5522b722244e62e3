"""The registry's rules in plain Python: no database, no nameko. Use cases apply them."""

import base64
import binascii
import calendar
import hashlib
import json
from datetime import date, timedelta, timezone

from alliance_platform.errors import Conflict, Forbidden, ValidationError
from alliance_platform.identity import ALL_DISTRICTS

# The alliance works on China Standard Time (no daylight saving): a "day" is a day in Dezhou.
CHINA = timezone(timedelta(hours=8), "CST")

# Status moves a merchant may make; closed is final (a shop that reopens registers again).
MERCHANT_TRANSITIONS = {
    "active": {"suspended", "closed"},
    "suspended": {"active", "closed"},
    "closed": set(),
}

FLOATING_MONTHS = 6
STAR_HONOUR = "star_party_member_merchant"


def today(now):
    return now.astimezone(CHINA).date()


def check_status_change(old, new):
    if new == old:
        raise Conflict(f"the merchant is already {old}")
    if new not in MERCHANT_TRANSITIONS[old]:
        raise Conflict(f"a {old} merchant cannot become {new}")


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


def check_honour(kind, stars, year):
    errors = {}
    if kind == STAR_HONOUR:
        if stars is None:
            errors["stars"] = ["a star Party-member merchant has 1 to 5 stars"]
        if year is None:
            errors["year"] = ["a star Party-member merchant is rated for a year"]
    elif stars is not None:
        errors["stars"] = [f"{kind} has no stars"]
    if errors:
        raise ValidationError("invalid honour", errors)


# Name search ------------------------------------------------------------------------------------


def name_grams(fragment):
    """The elements of the stored ``name_grams`` array that every name containing ``fragment`` has
    (the same lower-casing as the SQL function), and whether they alone prove the match."""
    text = fragment.lower()
    if len(text) <= 2:
        return [text], True
    return sorted({text[i : i + 2] for i in range(len(text) - 1)}), False


def like_pattern(fragment):
    escaped = fragment.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Paging -----------------------------------------------------------------------------------------


def _fingerprint(query):
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:12]


def encode_cursor(last_id, query):
    """An opaque cursor: the last row's key, and a fingerprint of the query it pages through."""
    raw = json.dumps({"after": str(last_id), "q": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, query):
    """The key to continue after, or None for the first page; a cursor of another query is refused."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, fingerprint = data["after"], data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("invalid cursor", {"cursor": ["not a cursor this service issued"]}) from exc
    if fingerprint != _fingerprint(query):
        raise ValidationError("invalid cursor", {"cursor": ["this cursor belongs to a different query"]})
    return after


def page(rows, limit, query, key="id"):
    """A page of at most ``limit`` rows (the query fetched one more) and the cursor to the next.
    ``key``: the column the pages are ordered by, or a function of a row for a composite order."""
    more = len(rows) > limit
    rows = rows[:limit]
    if not more:
        return rows, None
    return rows, encode_cursor(key(rows[-1]) if callable(key) else rows[-1][key], query)


# Scope ------------------------------------------------------------------------------------------


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
    if caller.kind == "merchant":
        if caller.merchant_id != str(merchant["merchant_id"]):
            raise Forbidden("a merchant may reach only its own record")
    else:
        caller.require_district(merchant["district_id"])


def changes(current, requested):
    """The fields of ``requested`` whose value differs from ``current``, in a stable order."""
    return {k: v for k, v in sorted(requested.items()) if current.get(k) != v}
