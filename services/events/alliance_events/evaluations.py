"""Evaluations (评选): nominations of merchants, one vote per voter per nominee within the window,
and closing, which names the winners in ``evaluation_closed`` for the registry to honour."""

from alliance_platform.errors import Conflict, Forbidden, ValidationError

from . import domain


def _evaluation(office, activity_id, lock=False):
    activity = office.load(activity_id, lock=lock)
    if activity["type"] != "evaluation":
        raise ValidationError("not an evaluation", {"activity_id": [f"{activity['title']} is a {activity['type']}"]})
    if activity["status"] in (domain.DRAFT, domain.CANCELLED):
        raise Conflict(f"{activity['title']} is {activity['status']}")
    if activity["evaluation_closed_at"] is not None:
        raise Conflict(f"{activity['title']} closed on {activity['evaluation_closed_at'].isoformat()}")
    return activity


def nominate(office, activity_id, merchant_id, reason, merchant_exists):
    activity = _evaluation(office, activity_id)
    office.require_manager(activity)
    if office.now >= activity["voting_closes_at"]:
        raise Conflict(f"voting for {activity['title']} has closed: no more nominations")
    if not merchant_exists(str(merchant_id)):
        raise ValidationError("unknown merchant", {"merchant_id": [f"no merchant {merchant_id} in the register"]})
    inserted = office.session.fetchone(
        "INSERT INTO nominations (activity_id, merchant_id, nominated_by, reason, nominated_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING merchant_id",
        (activity["id"], str(merchant_id), office.actor, reason, office.now),
    )
    if inserted is None:
        raise Conflict(f"merchant {merchant_id} is already nominated for {activity['title']}")
    return {"activity_id": str(activity["id"]), "merchant_id": str(merchant_id)}


def vote(office, activity_id, merchant_id):
    activity = _evaluation(office, activity_id)
    caller = office.caller
    if not caller.has_any_role(activity["voter_roles"] or ()):
        raise Forbidden(f"only {', '.join(activity['voter_roles'] or [])} may vote in {activity['title']}")
    if not activity["voting_opens_at"] <= office.now < activity["voting_closes_at"]:
        opens, closes = activity["voting_opens_at"].isoformat(), activity["voting_closes_at"].isoformat()
        raise Conflict(f"voting is open from {opens} to {closes}")
    if not office.session.fetchone(
        "SELECT 1 FROM nominations WHERE activity_id = %s AND merchant_id = %s", (activity["id"], str(merchant_id))
    ):
        raise ValidationError("not a nominee", {"merchant_id": [f"merchant {merchant_id} is not nominated"]})
    cast = office.session.fetchone(
        "INSERT INTO votes (activity_id, merchant_id, voter_id, voted_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING voter_id",
        (activity["id"], str(merchant_id), caller.subject, office.now),
    )
    if cast is None:
        raise Conflict("you have already voted for this nominee")
    return {"activity_id": str(activity["id"]), "merchant_id": str(merchant_id), "voted": True}


def close(office, activity_id):
    activity = _evaluation(office, activity_id, lock=True)
    office.require_manager(activity)
    if office.now < activity["voting_closes_at"]:
        raise Conflict(f"voting for {activity['title']} is open until {activity['voting_closes_at'].isoformat()}")
    tally = office.session.fetchall(
        "SELECT n.merchant_id::text, n.nominated_at, count(v.voter_id) AS votes FROM nominations n"
        " LEFT JOIN votes v USING (activity_id, merchant_id) WHERE n.activity_id = %s"
        " GROUP BY n.merchant_id, n.nominated_at",
        (activity["id"],),
    )
    chosen = domain.winners([t for t in tally if t["votes"] > 0], activity["evaluation_winners"])
    winners = [{"merchant_id": w["merchant_id"], "votes": w["votes"], "rank": n} for n, w in enumerate(chosen, 1)]
    office.session.execute(
        "UPDATE activities SET evaluation_closed_at = %s, status = 'completed', completed_at = %s WHERE id = %s",
        (office.now, office.now, activity["id"]),
    )
    office.session.publish(
        "evaluation_closed",
        {
            "activity_id": str(activity["id"]),
            "title": activity["title"],
            "kind": activity["evaluation_kind"],
            "year": activity["evaluation_year"],
            "stars": activity["evaluation_stars"],
            "winners": winners,
            "closed_at": office.now,
        },
        aggregate_id=str(activity["id"]),
    )
    return {
        "activity_id": str(activity["id"]),
        "winners": winners,
        "tally": sorted(
            ({"merchant_id": t["merchant_id"], "votes": t["votes"]} for t in tally), key=lambda t: -t["votes"]
        ),
    }
