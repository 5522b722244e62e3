"""The services' clock: real time, or real time moved forward by tests.

Domain rules that depend on time (SLA deadlines, six months since a floating member arrived,
reminders 24 h before an activity) read ``self.clock.now()`` and pass the value to their use cases,
never ``datetime.now()`` or SQL ``now()``. Tests then move time instead of sleeping through it:

- in one process: ``ControlledTime(path).set(moment)``, ``.advance(days=183)``;
- across service processes (end-to-end tests): every process configured with the same
  ``CLOCK_OFFSET_FILE`` reads the offset written there.

The offset file is honoured only when ``CLOCK_OFFSET_FILE`` is set, which production never does.
"""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nameko.extensions import DependencyProvider


class Clock:
    def __init__(self, offset_file=None):
        self._path = Path(offset_file) if offset_file else None
        self._seen = (None, 0.0)  # (file identity, offset) of the last read

    def offset(self):
        if self._path is None:
            return 0.0
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return 0.0
        # Each write replaces the file, so a new inode means a new offset; reading the file on
        # every call would cost a syscall and a parse per clock reading.
        identity = (stat.st_ino, stat.st_mtime_ns)
        if identity != self._seen[0]:
            self._seen = (identity, float(self._path.read_text().strip() or 0))
        return self._seen[1]

    def now(self):
        """The current time, timezone-aware (UTC)."""
        return datetime.now(UTC) + timedelta(seconds=self.offset())


class ControlledTime:
    """Moves the clocks that read ``path`` (tests only)."""

    def __init__(self, path):
        self.path = Path(path)

    def set(self, moment):
        """Make the clocks read ``moment`` now (and run on from it)."""
        return self._write((moment - datetime.now(UTC)).total_seconds())

    def advance(self, **delta):
        return self._write(Clock(self.path).offset() + timedelta(**delta).total_seconds())

    def _write(self, offset):
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(str(offset))
        os.replace(temporary, self.path)  # readers never see a half-written offset
        return offset


class ClockProvider(DependencyProvider):
    def setup(self):
        self.clock = Clock(self.container.config.get("CLOCK_OFFSET_FILE"))

    def get_dependency(self, worker_ctx):
        return self.clock
