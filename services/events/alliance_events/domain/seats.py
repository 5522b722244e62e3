"""Seats: a registration is confirmed while the activity has seats overall and the registrant's
district has seats in its quota (when the activity sets quotas); otherwise it waits, in order. A
seat held for a waiting-list offer (``offers``) is taken like a confirmed one until the offer is
accepted, declined or expires. A freed seat is offered to the first waiting registration that fits."""

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Seats:
    capacity: int
    quotas: dict  # district -> seats reserved for its registrants (absent: no quota)
    confirmed: int  # confirmed registrations now
    confirmed_by_district: dict  # district -> confirmed now
    offered: int = 0  # seats held for offers now
    offered_by_district: dict = field(default_factory=dict)  # district -> seats held for its offers

    @classmethod
    def of(cls, activity):
        """The seats of an activity, from the counters on its row."""
        return cls(
            activity["capacity"],
            activity["quotas"],
            activity["confirmed_count"],
            activity["confirmed_by_district"],
            activity.get("offered_count", 0),
            activity.get("offered_by_district") or {},
        )

    def taken(self, district=None):
        """Seats confirmed or held for an offer: overall, or of ``district``."""
        if district is None:
            return self.confirmed + self.offered
        return self.confirmed_by_district.get(district, 0) + self.offered_by_district.get(district, 0)

    def fits(self, district):
        if self.taken() >= self.capacity:
            return False
        quota = self.quotas.get(district)
        return quota is None or self.taken(district) < quota

    def with_offer(self, district):
        """These seats once one more is held for an offer to ``district``."""
        by_district = {**self.offered_by_district, district: self.offered_by_district.get(district, 0) + 1}
        return replace(self, offered=self.offered + 1, offered_by_district=by_district)


def to_offer(waiting, seats):
    """The waiting registrations (in order) that the free seats are offered to now: the first that
    fits, then the first that fits what is left, until no seat is free for anyone waiting."""
    chosen = []
    for registration in waiting:
        if seats.taken() >= seats.capacity:
            break
        if seats.fits(registration["district_id"]):
            chosen.append(registration)
            seats = seats.with_offer(registration["district_id"])
    return chosen
