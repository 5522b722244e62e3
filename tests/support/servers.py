"""Private PostgreSQL and RabbitMQ servers for tests that stop or restart a server.

Each server keeps its data under a workdir the caller owns, listens on loopback ports of its own
and runs in a session of its own, so a test can take it down without disturbing the machine's
servers, and stopping it finds every process it forked.

As root, each server runs as its service account (``postgres``, ``rabbitmq``): PostgreSQL refuses
to run as root, and files in the workdir then belong to the account the packaged server uses. That
account must be able to traverse every parent of the workdir, which pytest's ``tmp_path`` does not
allow (``/tmp/pytest-of-root`` is mode 0700); use e.g. a ``tempfile.mkdtemp()`` directory opened
with mode 0o711.

Standard library only: ``scripts/infra.py`` loads this file by path under the system python3,
before any virtualenv exists, to start the project-local servers the same way.
"""

from __future__ import annotations

import abc
import contextlib
import glob
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def workdir(prefix):
    """A temporary folder the servers' accounts can reach (mode 0711: pytest's own tmp_path sits in
    a 0700 folder they cannot pass through), removed with everything in it afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class ServerError(RuntimeError):
    """A private server could not be prepared, started or stopped; says why, with its log tail."""


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct TCP ports free on `host` right now."""
    sockets = []
    try:
        # Every socket stays bound until all are, so the kernel cannot hand out a port twice.
        for _ in range(count):
            sock = socket.socket()
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def amqp_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when the broker answers the AMQP 0-9-1 protocol header with a method frame
    (connection.start): an open port alone can still belong to a broker that is booting."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return sock.recv(7).startswith(b"\x01\x00\x00")
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _proc_stat(pid: int) -> tuple[str, list[str]] | None:
    """(command name, fields after it) from /proc/<pid>/stat, or None if there is no such pid."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()


def process_start_time(pid: int) -> str | None:
    """When `pid` started (clock ticks after boot), or None if it is gone; with the pid it
    identifies a process across pid reuse."""
    stat_ = _proc_stat(pid)
    return None if stat_ is None or stat_[1][0] == "Z" else stat_[1][19]


def _process_group(pgid: int) -> list[tuple[int, str]]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat_ = _proc_stat(int(entry.name))
        if stat_ is not None and stat_[1][0] != "Z" and int(stat_[1][2]) == pgid:
            members.append((int(entry.name), stat_[0]))
    return members


def stop_process_group(pid: int, sig: int, timeout: float) -> bool:
    """Send `sig` to `pid`, the session leader of a server started by this module, wait for it to
    exit, then kill whatever else is left of its process group. epmd is spared: an Erlang node
    starts it as a daemon that every node on the machine shares. False if the leader had to be
    killed because it ignored `sig` for `timeout` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    graceful = wait_until(lambda: process_start_time(pid) is None, timeout)
    for member, name in _process_group(pid):
        if name != "epmd":
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
    wait_until(lambda: process_start_time(pid) is None, 5)
    return graceful


# Where the servers a test run starts are registered, so that a later run ends those whose run was
# killed before its teardown (a pytest-timeout, a Ctrl-C twice, CI's hard stop). None: not
# registered — scripts/infra.py's project-local servers are meant to outlive the script.
_orphan_registry: Path | None = None


def register_for_orphan_sweep(registry: Path) -> list[str]:
    """From now on, every server this process starts is registered in ``registry``; first, end
    the registered servers whose test process is gone (each identified by pid and start time, so
    a reused pid is never touched) and remove their folders (under the temporary directory only).
    Returns what was ended."""
    global _orphan_registry
    registry.mkdir(mode=0o700, parents=True, exist_ok=True)
    _orphan_registry = registry
    ended = []
    for entry_path in registry.glob("*.json"):
        try:
            entry = json.loads(entry_path.read_text())
        except (OSError, ValueError):
            entry_path.unlink(missing_ok=True)
            continue
        if process_start_time(entry["owner"]) == entry["owner_started"]:
            continue  # its test run is still going
        if process_start_time(entry["server"]) == entry["server_started"]:
            stop_process_group(entry["server"], signal.SIGKILL, 10)
            ended.append(f"{entry['name']} (pid {entry['server']}, {entry['workdir']})")
        if Path(entry["workdir"]).is_relative_to(tempfile.gettempdir()):  # a test's folder, nothing else
            shutil.rmtree(entry["workdir"], ignore_errors=True)
        entry_path.unlink(missing_ok=True)
    return ended


def _register(name: str, pid: int, workdir: Path) -> None:
    if _orphan_registry is None:
        return
    owner = os.getpid()
    entry = {
        "name": name,
        "owner": owner,
        "owner_started": process_start_time(owner),
        "server": pid,
        "server_started": process_start_time(pid),
        "workdir": str(workdir),
    }
    (_orphan_registry / f"{pid}.json").write_text(json.dumps(entry))


def _unregister(pid: int) -> None:
    if _orphan_registry is not None:
        (_orphan_registry / f"{pid}.json").unlink(missing_ok=True)


def service_account(name: str) -> pwd.struct_passwd | None:
    """The account to run a server as: None (ourselves) unless we are root and `name` exists."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _run_as(account: pwd.struct_passwd | None) -> dict:
    if account is None:
        return {}
    return {
        "user": account.pw_uid,
        "group": account.pw_gid,
        "extra_groups": os.getgrouplist(account.pw_name, account.pw_gid),
    }


def blocking_parent(path: Path, account: pwd.struct_passwd) -> Path | None:
    """The first existing directory on the way to `path` (itself included) that `account` may not
    pass through; folders not made yet are not looked at."""
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for directory in [*reversed(path.parents), path]:
        try:
            st = directory.stat()
        except FileNotFoundError:
            break
        if st.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return directory
    return None


def prepare_workdir(path: Path, account: pwd.struct_passwd | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if account is None:
        return
    os.chown(path, account.pw_uid, account.pw_gid)
    blocking = blocking_parent(path, account)
    if blocking is not None:
        raise ServerError(
            f"user {account.pw_name} cannot reach {path}: {blocking} (mode "
            f"{stat.filemode(blocking.stat().st_mode)}) does not let it through; use a workdir "
            f"whose parents that user may traverse"
        )


def postgres_bindir() -> Path | None:
    """The directory holding postgres, initdb and pg_isready: Debian's newest
    /usr/lib/postgresql/<version>/bin, else wherever PATH finds postgres."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")]
    if found:
        return max(
            found,
            key=lambda bindir: [int(part) for part in bindir.parent.name.split(".") if part.isdigit()],
        )
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def rabbitmq_server_script() -> Path | None:
    """RabbitMQ's own rabbitmq-server script. Debian's /usr/sbin/rabbitmq-server is a wrapper
    that switches to the rabbitmq user with su, resetting HOME (and so the Erlang cookie) to the
    system broker's; the servers here switch user themselves and keep a cookie of their own."""
    for candidate in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server")):
        if (
            candidate
            and os.path.exists(candidate)
            and os.path.basename(os.path.realpath(candidate)) != "rabbitmq-script-wrapper"
        ):
            return Path(candidate)
    return None


class _PrivateServer(abc.ABC):
    name: str
    stop_signal: signal.Signals
    port: int
    host: str

    def __init__(self, workdir: str | os.PathLike, start_timeout: float, stop_timeout: float):
        self.workdir = Path(workdir).resolve()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_path = self.workdir / f"{self.name}.log"
        self._account: pwd.struct_passwd | None = None
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The server's session leader while it runs."""
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @abc.abstractmethod
    def _prepare(self) -> None: ...

    @abc.abstractmethod
    def _command(self) -> list[str]: ...

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    @abc.abstractmethod
    def _ready(self) -> bool: ...

    def start(self) -> None:
        """Start the server and wait until it serves clients; no-op while it runs."""
        if self.running:
            return
        self._prepare()
        with self.log_path.open("ab") as log:
            # A session of its own keeps a Ctrl-C aimed at the tests away from the server and lets
            # stop() find every process it forked by process group.
            self._process = subprocess.Popen(
                self._command(),
                env=self._env(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **_run_as(self._account),
            )
        _register(self.name, self._process.pid, self.workdir)
        served = wait_until(lambda: not self.running or self._ready(), self.start_timeout)
        if not (served and self.running):
            exit_code = self._process.poll()
            self._kill()
            failure = (
                f"exited with code {exit_code} while starting"
                if exit_code is not None
                else f"did not serve clients within {self.start_timeout:.0f}s"
            )
            raise ServerError(
                f"{self.name} on {self.host}:{self.port} {failure}; "
                f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def stop(self) -> None:
        """Shut the server down cleanly and wait until its port is closed; no-op when stopped.
        Raises ServerError if it had to be killed."""
        if self._process is None:
            return
        graceful = stop_process_group(self._process.pid, self.stop_signal, self.stop_timeout)
        self._ended()
        if not wait_until(lambda: not port_open(self.host, self.port), self.stop_timeout):
            raise ServerError(f"{self.name} stopped but {self.host}:{self.port} still accepts connections")
        if not graceful:
            raise ServerError(
                f"{self.name} ignored {self.stop_signal.name} for {self.stop_timeout:.0f}s and was killed; "
                f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def _kill(self) -> None:
        stop_process_group(self._process.pid, signal.SIGKILL, self.stop_timeout)
        self._ended()

    def _ended(self) -> None:
        """The server's processes are gone: reap its leader, forget it."""
        self._process.wait()
        _unregister(self._process.pid)
        self._process = None

    def restart(self) -> None:
        """Stop and start again with the same data directory and ports."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server, leaving none of the processes it started."""
        self.stop()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class PrivatePostgres(_PrivateServer):
    """A PostgreSQL server with its data in ``<workdir>/data``, trust authentication for
    `superuser`, TCP only (no Unix socket to collide with the machine's)."""

    name = "postgres"
    # "Fast" shutdown: roll back open transactions, write a checkpoint, exit.
    stop_signal = signal.SIGINT

    def __init__(
        self,
        workdir: str | os.PathLike,
        *,
        host: str = LOOPBACK,
        port: int | None = None,
        superuser: str = "postgres",
        start_timeout: float = 120.0,  # generous: drills run on busy machines
        stop_timeout: float = 30.0,
    ):
        super().__init__(workdir, start_timeout, stop_timeout)
        bindir = postgres_bindir()
        if bindir is None:
            raise ServerError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self._bindir = bindir
        self._account = service_account("postgres")
        if os.geteuid() == 0 and self._account is None:
            raise ServerError("PostgreSQL refuses to run as root and there is no 'postgres' user to run it as")
        self.host = host
        self.port = port or free_ports(1, host)[0]
        self.superuser = superuser
        self.data_dir = self.workdir / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/{dbname}"

    def _prepare(self) -> None:
        prepare_workdir(self.workdir, self._account)
        if (self.data_dir / "PG_VERSION").exists():
            return
        initdb = subprocess.run(
            [str(self._bindir / "initdb"), "-D", str(self.data_dir), "-U", self.superuser]
            + ["--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=False,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            **_run_as(self._account),
        )
        if initdb.returncode != 0:
            raise ServerError(f"initdb into {self.data_dir} failed:\n{initdb.stdout}{initdb.stderr}")

    def _command(self) -> list[str]:
        return [
            *(str(self._bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)),
            *("-c", f"listen_addresses={self.host}"),
            *("-c", "unix_socket_directories="),
        ]

    def _ready(self) -> bool:
        # -t 1 (libpq makes it 2 s): a port that accepts but never answers must not hold each
        # probe for pg_isready's default 3 s.
        probe = [str(self._bindir / "pg_isready"), "-q", "-t", "1", "-h", self.host, "-p", str(self.port)]
        probe += ["-U", self.superuser, "-d", "postgres"]
        return subprocess.run(probe, check=False).returncode == 0


class PrivateRabbit(_PrivateServer):
    """A RabbitMQ node with its mnesia database, logs, config and Erlang cookie under `workdir`.

    The node name defaults to one derived from the workdir, so another PrivateRabbit on the same
    workdir finds the same data. The management plugin runs only if `management_port` is given.
    """

    name = "rabbitmq"
    # rabbitmq-server traps SIGTERM and shuts the broker down cleanly before it exits.
    stop_signal = signal.SIGTERM

    def __init__(
        self,
        workdir: str | os.PathLike,
        *,
        node_name: str | None = None,
        host: str = LOOPBACK,
        amqp_port: int | None = None,
        dist_port: int | None = None,
        management_port: int | None = None,
        start_timeout: float = 180.0,  # generous: a node boots slowly on a busy machine
        stop_timeout: float = 30.0,
    ):
        super().__init__(workdir, start_timeout, stop_timeout)
        script = rabbitmq_server_script()
        if script is None:
            raise ServerError("rabbitmq-server not found (apt-get install rabbitmq-server)")
        self._script = script
        self._account = service_account("rabbitmq")
        self.host = host
        free_amqp, free_dist = free_ports(2, host)
        self.port = self.amqp_port = amqp_port or free_amqp
        self.dist_port = dist_port or free_dist
        self.management_port = management_port
        digest = hashlib.sha1(str(self.workdir).encode()).hexdigest()[:10]
        self.node_name = f"{node_name or 'alliance-' + digest}@localhost"

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@{self.host}:{self.amqp_port}/"

    @property
    def management_uri(self) -> str | None:
        if self.management_port is None:
            return None
        return f"http://guest:guest@{self.host}:{self.management_port}/"

    def _prepare(self) -> None:
        prepare_workdir(self.workdir, self._account)
        config = [f"listeners.tcp.1 = {self.host}:{self.amqp_port}"]
        plugins = []
        if self.management_port is not None:
            config += [f"management.tcp.ip = {self.host}", f"management.tcp.port = {self.management_port}"]
            plugins.append("rabbitmq_management")
        (self.workdir / "rabbitmq.conf").write_text("\n".join(config) + "\n")
        (self.workdir / "enabled_plugins").write_text(f"[{','.join(plugins)}].\n")
        # Empty on purpose: /etc/rabbitmq/rabbitmq-env.conf would name the system broker's node.
        (self.workdir / "rabbitmq-env.conf").write_text("")

    def _command(self) -> list[str]:
        return [str(self._script)]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            # Erlang keeps its cookie in $HOME: this node gets its own, not the system broker's.
            "HOME": str(self.workdir),
            "RABBITMQ_NODENAME": self.node_name,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.workdir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq.conf"),
            # Never created; it keeps /etc/rabbitmq/advanced.config out.
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.workdir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.workdir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            # Log to stdout, i.e. log_path, so a failed start shows its reason in one place.
            "RABBITMQ_LOGS": "-",
            # Loopback only, for this node's distribution port and for epmd if this node has to
            # start it (epmd is shared by every Erlang node on the machine and outlives them).
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": LOOPBACK,
        }

    def _ready(self) -> bool:
        if not amqp_answers(self.host, self.amqp_port):
            return False
        return self.management_port is None or port_open(self.host, self.management_port)
