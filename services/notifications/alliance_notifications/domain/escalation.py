"""Escalation chains: what must not go unread goes out again on another channel while it is unread.

A rule may carry a chain (rules.yaml)::

    escalate:
      - {after_working_minutes: 30, channel: wecom}
      - {after_working_minutes: 120, channel: sms}

Step k is due ``after_working_minutes`` after the inbox message was written, counted on the
service centre's working calendar (``alliance_platform.working_time``: nights, weekends and
holidays do not count). A step due in the recipient's quiet hours waits for their end, unless the
message is urgent or tells of an SLA breach (``SLA_BREACHES``). The chain stops the moment the
inbox message is read: a step not sent by then is never sent (``skipped_read``). A step whose
channel cannot reach the recipient (no mobile, no robot, switched off in their preferences) or
that already carried the message is ``skipped_unreachable``.

Plain Python: the timer and the use cases pass the time in.
"""

from dataclasses import dataclass

from .deliveries import SENDING

SCHEDULED, SENT, SKIPPED_READ, SKIPPED_UNREACHABLE = "scheduled", "sent", "skipped_read", "skipped_unreachable"
STATUSES = (SCHEDULED, SENT, SKIPPED_READ, SKIPPED_UNREACHABLE)
# Events that tell of a broken service promise: their escalations do not wait out quiet hours.
SLA_BREACHES = frozenset({("tickets", "ticket_overdue"), ("tickets", "ticket_escalated")})
BATCH = 200  # escalations claimed per timer run

WAIT, SEND, SKIP_READ = "wait", "send", "skip_read"


class ChainInvalid(ValueError):
    """An escalation chain the service must not start with."""


@dataclass(frozen=True)
class Step:
    after_working_minutes: float
    channel: str


def parse_chain(entries):
    """The chain of a rule's ``escalate`` list; refuses an unknown channel (the inbox is where it
    starts, not a step), a delay that is not positive, or delays that do not increase."""
    if not isinstance(entries, list) or not entries:
        raise ChainInvalid("escalate: a non-empty list of {after_working_minutes, channel}")
    steps = []
    for k, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"after_working_minutes", "channel"}:
            raise ChainInvalid(f"escalate step {k}: exactly after_working_minutes and channel")
        channel, after = entry["channel"], entry["after_working_minutes"]
        if channel not in SENDING:
            raise ChainInvalid(f"escalate step {k}: unknown channel {channel!r}; one of {list(SENDING)}")
        if isinstance(after, bool) or not isinstance(after, int | float) or after <= 0:
            raise ChainInvalid(f"escalate step {k}: after_working_minutes must be a positive number, not {after!r}")
        if steps and after <= steps[-1].after_working_minutes:
            raise ChainInvalid(
                f"escalate step {k}: after_working_minutes {after} must be more than step {k - 1}'s"
                f" {steps[-1].after_working_minutes}"
            )
        steps.append(Step(float(after), channel))
    return tuple(steps)


def through_quiet_hours(urgency, source, event_type):
    """Whether the chain's steps go in quiet hours: urgent messages and SLA breaches do."""
    return urgency == "urgent" or (source, event_type) in SLA_BREACHES


def due_at(written_at, step, calendar, quiet_hours, timezone, urgent):
    """When ``step`` of a message written to the inbox at ``written_at`` is due: its working
    minutes later on ``calendar``, then after ``quiet_hours`` (the recipient's) unless ``urgent``."""
    moment = calendar.add(written_at, step.after_working_minutes)
    return moment if urgent else quiet_hours.release(moment, timezone)


def decide(read_at, due, now):
    """What the timer does with a scheduled step at ``now``: skip it (the message was read), send
    it (due), or wait."""
    if read_at is not None and read_at <= now:
        return SKIP_READ
    return SEND if due <= now else WAIT
