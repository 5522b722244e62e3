"""A private PostgreSQL primary and its streaming standby, for the standby drill and the tests of
read-URL routing.

The primary is a ``PrivatePostgres`` started with the settings of a synchronous primary (given on
its command line, so a standby copied from it does not inherit them: once promoted it commits
alone); the standby is a ``pg_basebackup -R`` of it (``standby.signal`` and ``primary_conninfo``
written by pg_basebackup), streaming from the primary under the application name ``standby1``.
Both listen on loopback ports of their own with their data in the caller's workdir, and are
stopped by their own pids only. Standard library only, like servers.py.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path

from tests.support.servers import (
    PrivatePostgres,
    ServerError,
    _run_as,
    prepare_workdir,
    stop_process_group,
    wait_until,
)

STANDBY_NAME = "standby1"


class SettingsPostgres(PrivatePostgres):
    """A ``PrivatePostgres`` with extra ``-c name=value`` settings on its command line."""

    def __init__(self, workdir, *, settings=None, **kwargs):
        super().__init__(workdir, **kwargs)
        self.settings = dict(settings or {})

    def _command(self) -> list[str]:
        command = super()._command()
        for name, value in self.settings.items():
            command += ["-c", f"{name}={value}"]
        return command

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        """Run one statement with psql (standard library only); returns its unaligned output."""
        psql = [str(self._bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        psql += ["-h", self.host, "-p", str(self.port), "-U", self.superuser, "-d", dbname, "-c", statement]
        done = subprocess.run(psql, check=False, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ServerError(f"psql on {self.port} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def kill(self) -> None:
        """SIGKILL the postmaster (and so, by process group, every backend): a crash, no
        shutdown checkpoint, nothing more sent to a standby."""
        if self._process is None:
            return
        stop_process_group(self._process.pid, signal.SIGKILL, self.stop_timeout)
        self._ended()


class StandbyPostgres(SettingsPostgres):
    """A hot standby made by ``pg_basebackup -R`` from ``primary``."""

    def __init__(self, workdir, primary: SettingsPostgres, **kwargs):
        settings = {"cluster_name": STANDBY_NAME, "hot_standby": "on", **kwargs.pop("settings", {})}
        super().__init__(workdir, settings=settings, **kwargs)
        self.primary = primary

    def _prepare(self) -> None:
        prepare_workdir(self.workdir, self._account)
        if (self.data_dir / "PG_VERSION").exists():
            return
        backup = [str(self._bindir / "pg_basebackup"), "-h", self.primary.host, "-p", str(self.primary.port)]
        backup += ["-U", self.primary.superuser, "-D", str(self.data_dir), "-R", "-X", "stream", "-c", "fast"]
        done = subprocess.run(
            backup, check=False, cwd=self.workdir, capture_output=True, text=True, timeout=120, **_run_as(self._account)
        )
        if done.returncode != 0:
            raise ServerError(f"pg_basebackup into {self.data_dir} failed:\n{done.stdout}{done.stderr}")
        # pg_basebackup -R names no application: the primary must know this standby by name to
        # wait for it (synchronous_standby_names), and cluster_name is what the walreceiver sends.

    def promote(self, timeout: float = 60.0) -> None:
        """Make this standby the primary (``pg_promote``, waiting until it accepts writes)."""
        answer = self.sql(f"SELECT pg_promote(true, {int(timeout)})")
        if answer != "t":
            raise ServerError(f"pg_promote on {self.port} answered {answer!r}")

    def in_recovery(self) -> bool:
        return self.sql("SELECT pg_is_in_recovery()") == "t"


class ReplicatedPostgres:
    """A primary and a streaming standby under ``workdir`` (``primary/``, ``standby/``).

    ``synchronous=True`` (the default) makes the primary wait for the standby to *apply* each
    commit (``synchronous_standby_names`` = the standby; the platform asks for ``remote_apply``
    when a service has a read URL): an acknowledged commit is on the standby and visible there.
    """

    def __init__(self, workdir, *, synchronous: bool = True):
        self.workdir = Path(workdir)
        settings = {"wal_level": "replica", "max_wal_senders": "5", "wal_keep_size": "64MB"}
        if synchronous:
            settings["synchronous_standby_names"] = STANDBY_NAME
        self.primary = SettingsPostgres(self.workdir / "primary", settings=settings)
        self.standby = StandbyPostgres(self.workdir / "standby", self.primary)

    def start(self) -> None:
        self.primary.start()
        self.standby.start()
        if not wait_until(self.streaming, 60, interval=0.2):
            raise ServerError("the standby did not start streaming from the primary within 60 s")

    def streaming(self) -> bool:
        if not self.primary.running:
            return False
        state = self.primary.sql(f"SELECT state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'")
        return state == "streaming"

    def close(self) -> None:
        for server in (self.standby, self.primary):
            with contextlib.suppress(ServerError):
                server.stop()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def url(self, dbname: str, *, read: bool = False) -> str:
        """A multi-host URL naming both servers: read-write (the primary, wherever it is now) or,
        with ``read``, prefer-standby (the standby while there is one, else the primary)."""
        hosts = ",".join(f"{server.host}:{server.port}" for server in (self.primary, self.standby))
        attrs = "prefer-standby" if read else "read-write"
        return f"postgresql://{self.primary.superuser}@{hosts}/{dbname}?target_session_attrs={attrs}&connect_timeout=3"
