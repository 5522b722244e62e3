"""What an activity is: its types, times and seats that hold together, which of its fields may
change and what is news, and the facts every event about it carries."""

from alliance_platform.errors import Conflict, ValidationError

from . import lifecycle

THEMED_PROMOTION, EVALUATION = "themed_promotion", "evaluation"
# Points are the registry's points ledger's alone (党员积分, its POINTS_RULES). What the released
# contract still carries of the points events once gave (complete_activity's points_per_person,
# stats' points_awarded and the tops' points, activity_completed's points_awarded) is deprecated: 0.
DEPRECATED_POINTS = 0
# The kinds of activity, with their Chinese names.
TYPES = {
    THEMED_PROMOTION: "主题消费活动",
    "training": "培训",
    "study_visit": "参观学习",
    "holiday_tutoring": "假期托管辅导",
    EVALUATION: "评选",
    "symposium": "座谈会",
    "volunteer_service": "志愿服务",
    "party_meeting": "党员活动",
}


def check_consistent(data):
    """Times in order, registration closing by the end, district quotas within the capacity."""
    errors = {}
    if data["ends_at"] <= data["starts_at"]:
        errors["ends_at"] = ["must be after starts_at"]
    if data["registration_closes_at"] <= data["registration_opens_at"]:
        errors["registration_closes_at"] = ["must be after registration_opens_at"]
    if data["registration_closes_at"] > data["ends_at"]:
        errors.setdefault("registration_closes_at", []).append("must not be after the activity ends")
    if sum((data.get("quotas") or {}).values()) > data["capacity"]:
        errors["quotas"] = ["district quotas add up to more than the capacity"]
    if errors:
        raise ValidationError("inconsistent activity", errors)


def check_evaluation_settings(cmd):
    if (cmd["type"] == EVALUATION) != bool(cmd.get("evaluation")):
        raise ValidationError("evaluation settings", {"evaluation": ["required for, and only for, type evaluation"]})


def check_changeable(activity, merged):
    """``merged``: the activity with the changes asked for. A completed or cancelled activity does
    not change; the capacity does not fall below the seats already given or offered."""
    if activity["status"] in lifecycle.OVER:
        raise Conflict(f"{activity['title']} is {activity['status']}: it cannot change")
    check_consistent(merged)
    confirmed, offered = activity["confirmed_count"], activity.get("offered_count", 0)
    if merged["capacity"] < confirmed + offered:
        held = f" and {offered} seats offered" if offered else ""
        raise Conflict(f"capacity {merged['capacity']} is below the {confirmed} confirmed registrations{held}")


def changed(before, after, asked):
    """The fields of ``asked`` whose value really changed: a venue sent again unchanged is no news."""
    return sorted(field for field in asked if before[field] != after[field])


def summary(activity):
    """The fields every event about an activity carries."""
    return {
        "activity_id": str(activity["id"]),
        "title": activity["title"],
        "type": activity["type"],
        "organisers": list(activity["organisers"]),
        "venue": activity["venue"],
        "starts_at": activity["starts_at"],
        "ends_at": activity["ends_at"],
    }
