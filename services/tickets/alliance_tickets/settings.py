"""The tickets service's rules that are configuration, loaded and checked once at start."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from .domain.routing import RoutingTable
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

    @classmethod
    def from_config(cls, config):
        if config.get("TICKETS_RULES_FILE"):
            config = {**config, **yaml.safe_load(Path(config["TICKETS_RULES_FILE"]).read_text(encoding="utf-8"))}
        return cls(
            calendar=WorkingCalendar.from_config(config.get("SLA_CALENDAR") or {}),
            sla=SlaPolicy(config["SLA_TARGETS"]),
            routing=RoutingTable(config["ROUTING_RULES"]),
            checklists=config.get("CHECKLISTS") or {},
            due_soon_minutes=float(config.get("SLA_DUE_SOON_MINUTES", 60)),
            escalate_to_alliance_after=float(config.get("SLA_ESCALATE_TO_ALLIANCE_AFTER_MINUTES", 480)),
        )


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
