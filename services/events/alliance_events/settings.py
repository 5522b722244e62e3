"""The events service's settings, built from its config once at start."""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

from .domain.meetings import check_rhythm


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo  # dates of recurring activities are generated in it
    offer_valid: timedelta  # how long a waiting-list offer holds its seat (never past the activity's start)
    meeting_rhythm: dict  # meeting kind -> monthly, quarterly, half_yearly or yearly (三会一课)
    rhythm_since: date  # the first day branch meetings are counted against their rhythm
    meeting_door_opens: timedelta  # how long before a meeting's start its check-in opens
    activity_door_opens: timedelta  # how long before an activity's start a device's scans count
    check_in_skew: timedelta  # how far a check-in device's clock may be off (its scans' times)

    @classmethod
    def from_config(cls, config):
        return cls(
            timezone=ZoneInfo(config["TIMEZONE"]),
            offer_valid=timedelta(minutes=float(config["OFFER_VALID_MINUTES"])),
            meeting_rhythm=check_rhythm(config["BRANCH_MEETING_RHYTHM"]),
            rhythm_since=date.fromisoformat(str(config["BRANCH_RHYTHM_SINCE"])),
            meeting_door_opens=timedelta(minutes=float(config["MEETING_CHECK_IN_OPENS_MINUTES"])),
            activity_door_opens=timedelta(minutes=float(config.get("ACTIVITY_CHECK_IN_OPENS_MINUTES", 120))),
            check_in_skew=timedelta(seconds=float(config.get("CHECK_IN_CLOCK_SKEW_SECONDS", 300))),
        )


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
