"""The notifications service's configuration, loaded and checked once when the service starts:
templates, rules, channel providers, rate limits and backoff. A wrong template or rule stops the
start (the error names the file and the part), never a message later."""

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from nameko.extensions import DependencyProvider

from alliance_platform.working_time import WorkingCalendar

from .channels import providers
from .domain.deliveries import SENDING
from .domain.rules import Rules, RulesInvalid
from .domain.templates import Templates
from .domain.timing import Backoff, TokenBucket

log = structlog.get_logger("alliance.notifications")

DEFAULT_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Settings:
    templates: Templates
    rules: Rules
    providers: dict  # channel -> Provider, configured channels only
    buckets: dict  # channel -> TokenBucket
    backoff: Backoff
    resolve_backoff: Backoff
    send_timeout: float
    send_concurrency: int
    dispatch_batch: int
    calendar: WorkingCalendar = WorkingCalendar()  # escalations count working minutes on it

    @property
    def policy(self):
        return self.rules.policy

    def robot_group(self, channel, wanted):
        provider = self.providers.get(channel)
        return provider.group_for(wanted) if provider is not None else None

    @classmethod
    def from_config(cls, config, handled):
        """``handled``: the (source, event_type) pairs the service subscribes to."""
        timezone = ZoneInfo(config.get("TIMEZONE") or "Asia/Shanghai")
        templates = Templates(
            config.get("NOTIFICATIONS_TEMPLATES_DIR") or DEFAULT_TEMPLATES,
            timezone,
            sms_limit=config.get("SMS_MAX_LENGTH", 70),
            sms_signature=config.get("SMS_SIGNATURE") or "",
        )
        rules = Rules.load(config.get("NOTIFICATIONS_RULES_FILE"), templates, handled, timezone)
        limits = config.get("RATE_LIMITS") or {}
        buckets = {
            channel: TokenBucket(float(limits[channel]["per_second"]), float(limits[channel]["burst"]))
            for channel in SENDING
            if channel in limits
        }
        return cls(
            templates=templates,
            rules=rules,
            providers=providers(config),
            buckets=buckets,
            backoff=Backoff(
                float(config.get("DELIVERY_BACKOFF_FIRST", 30)),
                float(config.get("DELIVERY_BACKOFF_MAX", 3600)),
                int(config.get("DELIVERY_MAX_ATTEMPTS", 5)),
            ),
            resolve_backoff=Backoff(
                float(config.get("RESOLVE_BACKOFF_FIRST", 5)), float(config.get("RESOLVE_BACKOFF_MAX", 300))
            ),
            send_timeout=float(config.get("SEND_TIMEOUT", 5)),
            send_concurrency=int(config.get("SEND_CONCURRENCY", 20)),
            dispatch_batch=int(config.get("DISPATCH_BATCH", 200)),
            calendar=_calendar(config.get("WORKING_CALENDAR") or {}),
        )


def _calendar(config):
    try:
        return WorkingCalendar.from_config(config)
    except (ValueError, TypeError) as exc:
        raise RulesInvalid(f"WORKING_CALENDAR: {exc}") from exc


def handled_events(service_cls):
    """The (source, event_type) pairs the service class has handlers for: what rules may name.
    Only its own ``handle_<source>_<event>`` methods: the platform's handlers (``platform_*``, e.g.
    a revoked system's tokens) notify nobody."""
    methods = (getattr(service_cls, name) for name in dir(service_cls) if name.startswith("handle_"))
    return {method.handles for method in methods if hasattr(method, "handles")}


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config, handled_events(self.container.service_cls))
        for channel in SENDING:
            if channel not in self.settings.providers:
                log.warning("channel not configured: its deliveries wait until it is", channel=channel)

    def get_dependency(self, worker_ctx):
        return self.settings
