"""The tickets service's rules that are configuration, loaded and checked once at start."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from .domain.ranking import Weights
from .domain.routing import LOAD_HORIZON_MINUTES, RoutingTable
from .domain.sla import SlaPolicy
from .domain.working_time import WorkingCalendar


@dataclass(frozen=True)
class Settings:
    calendar: WorkingCalendar
    sla: SlaPolicy
    routing: RoutingTable
    checklists: dict  # category -> [{"item": ..., "documents": [...]}]
    due_soon_minutes: float  # working minutes before a deadline when "due soon" is sent
    escalate_to_alliance_after: float  # working minutes overdue before level 2
    follow_up_sample_share: float  # of demands closed without a poor rating, the share called back
    supervision_remind_every: float  # working minutes between reminders of a supervised demand
    ranking_weights: Weights

    @classmethod
    def from_config(cls, config):
        if config.get("TICKETS_RULES_FILE"):
            config = {**config, **yaml.safe_load(Path(config["TICKETS_RULES_FILE"]).read_text(encoding="utf-8"))}
        calendar = WorkingCalendar.from_config(config.get("SLA_CALENDAR") or config.get("WORKING_CALENDAR") or {})
        share = float(config.get("FOLLOW_UP_SAMPLE_SHARE", 0))
        if not 0 <= share <= 1:
            raise ValueError(f"FOLLOW_UP_SAMPLE_SHARE is a share between 0 and 1, not {share}")
        return cls(
            calendar=calendar,
            sla=SlaPolicy(config["SLA_TARGETS"]),
            routing=RoutingTable(
                config["ROUTING_RULES"],
                calendar=calendar,
                horizon=float(config.get("ROUTING_LOAD_HORIZON_MINUTES", LOAD_HORIZON_MINUTES)),
            ),
            checklists=config.get("CHECKLISTS") or {},
            due_soon_minutes=float(config.get("SLA_DUE_SOON_MINUTES", 60)),
            escalate_to_alliance_after=float(config.get("SLA_ESCALATE_TO_ALLIANCE_AFTER_MINUTES", 480)),
            follow_up_sample_share=share,
            supervision_remind_every=float(config.get("SUPERVISION_REMIND_EVERY_MINUTES", 240)),
            ranking_weights=Weights.from_config(config.get("RANKING_WEIGHTS")),
        )


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
