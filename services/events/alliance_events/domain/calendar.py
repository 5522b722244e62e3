"""Calendar coordination between the districts (错位经营): a themed promotion that overlaps another
district's announced promotion in time and shares a theme tag with it is refused, unless its
organiser goes ahead with a reason."""

from alliance_platform.errors import Conflict

from .activity import THEMED_PROMOTION
from .lifecycle import ANNOUNCED


def clashes(activity, others):
    """Other districts' themed promotions overlapping ``activity`` in time and sharing a theme tag."""
    if activity["type"] != THEMED_PROMOTION:
        return []
    organisers = set(activity["organisers"])
    tags = set(activity["theme_tags"])
    found = []
    for other in others:
        if other["id"] == activity["id"] or other["type"] != THEMED_PROMOTION:
            continue
        if other["status"] not in ANNOUNCED:
            continue
        if set(other["organisers"]) <= organisers:
            continue  # the same organisers coordinate among themselves
        overlaps = other["starts_at"] < activity["ends_at"] and activity["starts_at"] < other["ends_at"]
        shared = tags & set(other["theme_tags"])
        if overlaps and shared:
            found.append({"activity_id": str(other["id"]), "title": other["title"], "shared_tags": sorted(shared)})
    return found


def check(activity, others, override):
    """The clashes of ``activity`` with ``others``; a ``Conflict`` if there are any and no ``override``."""
    found = clashes(activity, others)
    if found and not override:
        names = "; ".join(f"{c['title']} ({', '.join(c['shared_tags'])})" for c in found)
        raise Conflict(f"clashes with another district's promotion: {names}; publish with override_reason to go ahead")
    return found
