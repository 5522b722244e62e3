"""When a message may go: quiet hours, the daily digest, retry backoff and per-channel rate limits.

Plain Python on timezone-aware datetimes (the service clock's ``now``), no database: the use cases
pass the current time in, so tests move time instead of sleeping through it.
"""

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from .deliveries import DEAD, FAILED


@dataclass(frozen=True)
class QuietHours:
    """Hours in which non-urgent messages wait, e.g. 21:00-08:00 local time (across midnight).

    ``start == end`` means no quiet hours at all.
    """

    start: time
    end: time

    @property
    def empty(self):
        return self.start == self.end

    def contains(self, local):
        t = local.timetz().replace(tzinfo=None)
        if self.empty:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release(self, now, timezone):
        """``now`` if a message may go now, else the end of the quiet hours it falls in."""
        local = now.astimezone(timezone)
        if not self.contains(local):
            return now
        end = datetime.combine(local.date(), self.end, tzinfo=timezone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=timezone)
        return end


def next_digest_at(now, at, timezone):
    """The next daily digest time ``at`` (local) strictly after ``now``."""
    local = now.astimezone(timezone)
    moment = datetime.combine(local.date(), at, tzinfo=timezone)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=timezone)
    return moment


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``first`` seconds after the first failure, doubling, at most ``ceiling``;
    after ``max_attempts`` attempts (if any) the delivery is dead."""

    first: float
    ceiling: float
    max_attempts: int | None = None

    def delay(self, attempts):
        return timedelta(seconds=min(self.ceiling, self.first * 2 ** max(0, attempts - 1)))

    def after_failure(self, attempts, now, permanent=False):
        """(status, due_at) after ``attempts`` attempts, the last of which failed."""
        if permanent or (self.max_attempts is not None and attempts >= self.max_attempts):
            return DEAD, now
        return FAILED, now + self.delay(attempts)


@dataclass(frozen=True)
class TokenBucket:
    """``rate`` sends per second on average, at most ``burst`` at once.

    The bucket's state (tokens, last refill) lives in the database so that every instance of the
    service draws from the same bucket; this class only does the arithmetic.
    """

    rate: float
    burst: float

    def available(self, tokens, refilled_at, now):
        if refilled_at is None:
            return float(self.burst)
        elapsed = max(0.0, (now - refilled_at).total_seconds())
        return min(float(self.burst), tokens + elapsed * self.rate)

    def budget(self, tokens, refilled_at, now, ceiling):
        """(sends allowed now, tokens available before taking them)."""
        available = self.available(tokens, refilled_at, now)
        return min(int(math.floor(available)), ceiling), available
