"""Seats: a registration is confirmed while the activity has seats overall and the registrant's
district has seats in its quota (when the activity sets quotas); otherwise it waits, in order. A
freed seat goes to the first waiting registration that fits."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Seats:
    capacity: int
    quotas: dict  # district -> seats reserved for its registrants (absent: no quota)
    confirmed: int  # confirmed registrations now
    confirmed_by_district: dict  # district -> confirmed now

    @classmethod
    def of(cls, activity):
        """The seats of an activity, from the counters on its row."""
        return cls(
            activity["capacity"], activity["quotas"], activity["confirmed_count"], activity["confirmed_by_district"]
        )

    def fits(self, district):
        if self.confirmed >= self.capacity:
            return False
        quota = self.quotas.get(district)
        return quota is None or self.confirmed_by_district.get(district, 0) < quota


def first_that_fits(waiting, seats):
    """The first waiting registration (in order) a freed seat can confirm, or None."""
    return next((registration for registration in waiting if seats.fits(registration["district_id"])), None)
