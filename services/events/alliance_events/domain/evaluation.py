"""Evaluations (评选): merchants nominated by the organisers until voting closes, one vote per
voter per nominee within the voting window by the roles the evaluation names, and closing once
voting is over, which ranks the nominees with votes: the most votes first, a tie to the earlier
nomination."""

from alliance_platform.errors import Conflict, Forbidden, ValidationError

from .activity import EVALUATION
from .lifecycle import CANCELLED, DRAFT


def check_open(activity):
    """``activity`` is an evaluation that is announced and not closed."""
    if activity["type"] != EVALUATION:
        raise ValidationError("not an evaluation", {"activity_id": [f"{activity['title']} is a {activity['type']}"]})
    if activity["status"] in (DRAFT, CANCELLED):
        raise Conflict(f"{activity['title']} is {activity['status']}")
    if activity["evaluation_closed_at"] is not None:
        raise Conflict(f"{activity['title']} closed on {activity['evaluation_closed_at'].isoformat()}")


def check_nominating(activity, now):
    if now >= activity["voting_closes_at"]:
        raise Conflict(f"voting for {activity['title']} has closed: no more nominations")


def check_voter(caller, activity, now):
    if not caller.has_any_role(activity["voter_roles"] or ()):
        raise Forbidden(f"only {', '.join(activity['voter_roles'] or [])} may vote in {activity['title']}")
    if not activity["voting_opens_at"] <= now < activity["voting_closes_at"]:
        opens, closes = activity["voting_opens_at"].isoformat(), activity["voting_closes_at"].isoformat()
        raise Conflict(f"voting is open from {opens} to {closes}")


def check_closing(activity, now):
    if now < activity["voting_closes_at"]:
        raise Conflict(f"voting for {activity['title']} is open until {activity['voting_closes_at'].isoformat()}")


def winners(tally, count):
    """The ``count`` nominees with most votes; a tie goes to the earlier nomination."""
    ranked = sorted(tally, key=lambda nominee: (-nominee["votes"], nominee["nominated_at"]))
    return ranked[:count]


def ranking(tally, count):
    """The winners as announced: nominees with at least one vote, ranked from 1."""
    chosen = winners([t for t in tally if t["votes"] > 0], count)
    return [{"merchant_id": w["merchant_id"], "votes": w["votes"], "rank": n} for n, w in enumerate(chosen, 1)]
