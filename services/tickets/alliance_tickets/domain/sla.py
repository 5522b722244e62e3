"""SLA targets (服务时限): first response and resolution, per category and handling mode.

Targets are working minutes on the centre's calendar (``working_time.py``), configured in the
service's ``SLA_TARGETS``: a ``default`` per handling mode, overridden per category. The clock
stops while a ticket waits on the merchant: on resuming, the resolution deadline moves by exactly
the working time that was left when it stopped.
"""

from dataclasses import dataclass

from alliance_contracts.tickets import HANDLING_MODES

CATEGORIES = {
    "bank_financing": "银企对接",
    "rights_protection": "权益维护",
    "policy_consultation": "政策咨询",
    "venue_sharing": "阵地共享",
    "party_affairs": "党务",
    "government_affairs": "政务",
    "labour_social_security": "劳动保障",
    "online_shop": "线上店铺",
    "other": "其他",
}


@dataclass(frozen=True)
class Targets:
    first_response: float  # working minutes from submission to acceptance
    resolution: float  # working minutes from submission to resolution, pauses excluded


class SlaPolicy:
    def __init__(self, targets):
        self._targets = targets
        for mode in HANDLING_MODES:
            self.targets("other", mode)  # a default for every mode, or the config is wrong now

    def targets(self, category, mode):
        chosen = {**self._targets.get("default", {}).get(mode, {}), **self._targets.get(category, {}).get(mode, {})}
        try:
            return Targets(float(chosen["first_response"]), float(chosen["resolution"]))
        except KeyError as exc:
            raise ValueError(f"SLA_TARGETS has no {exc.args[0]} for {category}/{mode} and no default") from None

    @staticmethod
    def due_dates(calendar, submitted_at, targets):
        return calendar.add(submitted_at, targets.first_response), calendar.add(submitted_at, targets.resolution)

    @staticmethod
    def resumed_deadline(calendar, paused_at, deadline, resumed_at):
        """The deadline after a pause from ``paused_at`` to ``resumed_at``: the same working time left."""
        return calendar.add(resumed_at, calendar.working_minutes(paused_at, deadline))
