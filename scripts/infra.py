#!/usr/bin/env python3
"""Make PostgreSQL and RabbitMQ (with its management API) reachable for development and tests.

    python3 scripts/infra.py ensure [postgres|rabbitmq]   use what already listens; else start the
                                          machine's own server; else start a project-local one
    python3 scripts/infra.py stop-local   stop the project-local servers `ensure` started
    python3 scripts/infra.py clean-local  stop them and remove their data

Targets come from PG_ADMIN_URL, AMQP_URI and RABBIT_MANAGEMENT_URI. Servers are started only for
loopback hosts; missing server packages are installed with apt-get when running as root on Debian.
A project-local server keeps its data under .local/ in the checkout; as root it runs as its service
account (postgres, rabbitmq), and if that account cannot pass through a folder above the checkout
(a clone in /root) its data goes to a folder of this checkout's own under /var/tmp instead.
Runs on the system python3 with the standard library only, so it works before .venv exists.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
LOCAL = REPO / ".local"
READY_TIMEOUT = 90.0
# Debian's wrappers come first: as root they run the broker's tools as the rabbitmq user
# with the system broker's Erlang cookie.
RABBIT_TOOL_PATH = os.pathsep.join(["/usr/sbin", "/usr/lib/rabbitmq/bin", os.environ.get("PATH", "")])


# The servers the tests start are the same code (tests/support/servers.py, standard library only,
# like this script, which runs before the virtualenv exists).
sys.path.insert(0, str(REPO))
from tests.support import servers  # noqa: E402


class InfraError(Exception):
    pass


def say(message: str) -> None:
    print(f"infra: {message}", flush=True)


class Target:
    """Where a server is expected, parsed from one of the URL variables."""

    def __init__(self, variable: str, default: str, default_port: int):
        self.variable = variable
        self.url = os.environ.get(variable) or default
        parts = urlsplit(self.url)
        if not parts.hostname:
            raise InfraError(f"{variable}={self.url} names no TCP host")
        self.host = parts.hostname
        self.port = parts.port or default_port
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.path = parts.path
        self.scheme = parts.scheme

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def listening(self) -> bool:
        return servers.port_open(self.host, self.port)

    def loopback_address(self) -> str | None:
        """The IPv4 loopback address the host names, or None if it names another machine;
        only for those does this script start servers."""
        try:
            address = socket.gethostbyname(self.host)
        except OSError:
            return None
        return address if ipaddress.ip_address(address).is_loopback else None


def local_address(target: Target, what: str) -> str:
    address = target.loopback_address()
    if address is None:
        raise InfraError(
            f"nothing listens on {target} and it is not a loopback address of this machine; "
            f"start {what} there or set {target.variable} to a running one"
        )
    return address


def run(command: list[str], *, env: dict | None = None) -> None:
    # Output goes to a file, not a pipe: a daemon the command starts may keep the pipe open
    # and leave us waiting for an end of file that never comes.
    with tempfile.TemporaryFile() as output:
        try:
            result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=env, check=False)
        except OSError as exc:
            raise InfraError(f"cannot run `{' '.join(command)}`: {exc}") from exc
        if result.returncode != 0:
            output.seek(0)
            raise InfraError(
                f"`{' '.join(command)}` failed with exit code {result.returncode}:\n"
                f"{output.read().decode(errors='replace').rstrip()}"
            )


def install(package: str, missing: str, target: Target) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise InfraError(
            f"{missing}; install them (Debian/Ubuntu: sudo apt-get install {package}) "
            f"or set {target.variable} to a running server"
        )
    say(f"{missing}; installing {package} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", package], env=env)


def outside_folder() -> Path:
    """This checkout's folder for project-local data its servers' accounts could not reach in it:
    named after the checkout and its path, so two clones never share one."""
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path(tempfile.gettempdir())
    digest = hashlib.sha1(str(REPO).encode()).hexdigest()[:10]
    return base / f"alliance-{REPO.name}-{digest}"


def local_workdir(name: str, account_name: str) -> Path:
    """Where the project-local `name` server keeps its data: .local/<name>, unless the account it
    runs as (as root: `account_name`) may not pass through a folder on the way there."""
    inside = LOCAL / name
    account = servers.service_account(account_name)
    if account is None or servers.blocking_parent(inside, account) is None:
        return inside
    folder = outside_folder()
    if not folder.is_symlink():
        folder.mkdir(mode=0o711, exist_ok=True)
    # Its parent is writable by everyone: use the folder only if it is ours and not a symlink.
    if folder.is_symlink() or folder.lstat().st_uid != os.geteuid():
        raise InfraError(f"{folder} exists but is not a folder of this user; remove it or move the checkout")
    folder.chmod(0o711)
    return folder / name


class LocalRecord:
    """The pid file of a project-local server: pid and start time, so a reused pid is not
    mistaken for the server."""

    def __init__(self, name: str):
        self.name = name
        self.path = LOCAL / f"{name}.pid"

    def running_pid(self) -> int | None:
        try:
            pid, started = self.path.read_text().split()
        except (OSError, ValueError):
            return None
        return int(pid) if servers.process_start_time(int(pid)) == started else None

    def save(self, pid: int) -> None:
        # The server's data may be outside .local/ (local_workdir): the folder may not exist yet.
        LOCAL.mkdir(exist_ok=True)
        self.path.write_text(f"{pid} {servers.process_start_time(pid)}\n")

    def refuse_second_instance(self) -> None:
        pid = self.running_pid()
        if pid is not None:
            raise InfraError(
                f"the project-local {self.name} (pid {pid}) already runs, on other ports than "
                f"now configured; run `python3 scripts/infra.py stop-local` first"
            )


def start_local(server, record: LocalRecord) -> None:
    record.refuse_second_instance()
    say(f"starting a project-local {server.name} on {server.host}:{server.port}, data in {server.workdir}")
    server.start()
    # Not stopped on exit: the server is meant to outlive this script until stop-local.
    record.save(server.pid)
    say(f"project-local {server.name} runs (pid {server.pid}, log {server.log_path})")


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_ready(pg: Target) -> str | None:
    """None when the server accepts connections, else what pg_isready said."""
    pg_isready = shutil.which("pg_isready")
    if pg_isready is None:
        return None if pg.listening() else "port closed"
    probe = [pg_isready, "-h", pg.host, "-p", str(pg.port), "-U", pg.user or "postgres", "-d", "postgres"]
    result = subprocess.run(probe, capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else result.stdout.strip() or f"exit code {result.returncode}"


def wait_pg(pg: Target) -> None:
    if not servers.wait_until(lambda: pg_ready(pg) is None, READY_TIMEOUT, interval=0.2):
        raise InfraError(f"PostgreSQL on {pg} does not accept connections after {READY_TIMEOUT:.0f}s: {pg_ready(pg)}")


def system_pg_cluster(port: int) -> tuple[str, str, str] | None:
    """(version, name, status) of the machine's PostgreSQL cluster configured for `port`; the status
    is pg_lsclusters' ("down", "online", "online,recovery", ...)."""
    if shutil.which("pg_lsclusters") is None:
        return None
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        version, name, cluster_port, status, *_ = line.split()
        if cluster_port == str(port):
            return version, name, status
    return None


def start_system_pg_cluster(pg: Target) -> bool:
    """Start the machine's cluster configured for pg's port; False if there is none to start: none
    is configured for the port, or it reports itself running though nothing answers on `pg` (it
    listens elsewhere, or its configuration was changed since it started)."""
    cluster = system_pg_cluster(pg.port)
    if cluster is None:
        return False
    version, name, status = cluster
    if status.startswith("online"):
        say(
            f"the machine's PostgreSQL cluster {version}/{name} is configured for port {pg.port} and "
            f"reports itself running, but nothing answers on {pg}"
        )
        return False
    say(f"starting the machine's PostgreSQL cluster {version}/{name}")
    try:
        run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"])
    except InfraError as exc:
        # Started by someone else since pg_lsclusters looked: the same case as above.
        if "already running" not in str(exc):
            raise
        say(f"the machine's PostgreSQL cluster {version}/{name} is already running, but nothing answers on {pg}")
        return False
    return True


def start_postgres(pg: Target) -> None:
    address = local_address(pg, "PostgreSQL")
    if servers.postgres_bindir() is None:
        install(
            "postgresql",
            "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/postgres) are missing",
            pg,
        )
        # The package's post-install script may have started its cluster already.
        if pg.listening():
            return
    if start_system_pg_cluster(pg):
        return
    local = servers.PrivatePostgres(
        local_workdir("postgres", "postgres"),
        host=address,
        port=pg.port,
        superuser=pg.user or "postgres",
        start_timeout=READY_TIMEOUT,
    )
    start_local(local, LocalRecord("postgres"))


def ensure_postgres() -> None:
    pg = Target("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres", 5432)
    if not pg.listening():
        start_postgres(pg)
    wait_pg(pg)
    say(f"PostgreSQL on {pg} accepts connections")


# --- RabbitMQ ---------------------------------------------------------------------------------


def management_problem(api: Target) -> str | None:
    """None when GET /api/overview answers 200, else why it does not answer yet. A refusal
    (HTTP 4xx) raises: waiting or enabling the plugin cannot fix a wrong user or path."""
    url = f"{api.scheme}://{api.host}:{api.port}{api.path.rstrip('/')}/api/overview"
    credentials = base64.b64encode(f"{api.user}:{api.password}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {credentials}"})
    try:
        with urllib.request.urlopen(request, timeout=3):
            return None
    except urllib.error.HTTPError as exc:
        if exc.code < 500:
            raise InfraError(
                f"RabbitMQ management API on {api} refuses GET {url}: HTTP {exc.code} "
                f"{exc.reason}; check the user, password and path in RABBIT_MANAGEMENT_URI"
            ) from exc
        return f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


def wait_management(api: Target, hint: str) -> None:
    if not servers.wait_until(lambda: management_problem(api) is None, READY_TIMEOUT, interval=0.5):
        raise InfraError(f"RabbitMQ management API on {api} does not answer ({management_problem(api)}){hint}")


def wait_amqp(amqp: Target) -> None:
    if not servers.wait_until(lambda: servers.amqp_answers(amqp.host, amqp.port), READY_TIMEOUT, interval=0.2):
        raise InfraError(f"nothing answers AMQP 0-9-1 on {amqp} after {READY_TIMEOUT:.0f}s")


def system_rabbit_ports() -> set[int]:
    """AMQP ports of the machine's own broker (the Debian package's node), if there is one."""
    if not Path("/var/lib/rabbitmq").is_dir() or shutil.which("rabbitmq-server", path=RABBIT_TOOL_PATH) is None:
        return set()
    ports = set()
    config = Path("/etc/rabbitmq/rabbitmq.conf")
    for line in config.read_text().splitlines() if config.exists() else []:
        # listeners.tcp.<name> = [address:]port
        key, _, value = line.partition("=")
        port = value.strip().rpartition(":")[2]
        if key.strip().startswith("listeners.tcp.") and port.isdigit():
            ports.add(int(port))
    return ports or {5672}


def enable_management(api: Target) -> None:
    say("enabling rabbitmq_management on the machine's broker")
    plugins = shutil.which("rabbitmq-plugins", path=RABBIT_TOOL_PATH) or "rabbitmq-plugins"
    run([plugins, "enable", "rabbitmq_management"])
    wait_management(api, "; the plugin is enabled on the machine's broker: does its listener use another port?")


def start_rabbitmq(amqp: Target, api: Target) -> None:
    address = local_address(amqp, "RabbitMQ")
    if servers.rabbitmq_server_script() is None:
        install("rabbitmq-server", "rabbitmq-server is missing (not on PATH, /usr/lib/rabbitmq/bin or /usr/sbin)", amqp)
        # The package's post-install script may have started its broker already.
        if amqp.listening():
            return
    if amqp.port in system_rabbit_ports():
        say("starting the machine's RabbitMQ broker")
        run([shutil.which("rabbitmq-server", path=RABBIT_TOOL_PATH), "-detached"])
        return
    local = servers.PrivateRabbit(
        local_workdir("rabbitmq", "rabbitmq"),
        node_name="alliance-local",
        host=address,
        amqp_port=amqp.port,
        management_port=api.port,
        start_timeout=READY_TIMEOUT,
    )
    start_local(local, LocalRecord("rabbitmq"))
    wait_management(api, f"; see {local.log_path}")


def ensure_rabbitmq() -> None:
    amqp = Target("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", 5672)
    api = Target("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/", 15672)
    if not amqp.listening():
        start_rabbitmq(amqp, api)
    wait_amqp(amqp)
    problem = management_problem(api)
    if problem is not None:
        if amqp.loopback_address() is None or amqp.port not in system_rabbit_ports():
            raise InfraError(
                f"RabbitMQ on {amqp} answers but its management API on {api} does not "
                f"({problem}); enable the rabbitmq_management plugin on that broker"
            )
        enable_management(api)
    say(f"RabbitMQ on {amqp} with management API on {api} is reachable")


# --- commands ---------------------------------------------------------------------------------


ENSURE = {"postgres": ensure_postgres, "rabbitmq": ensure_rabbitmq}


def ensure(*names: str) -> None:
    for name in names or ENSURE:
        ENSURE[name]()


def stop_local() -> None:
    for name, stop_signal in (
        ("postgres", servers.PrivatePostgres.stop_signal),
        ("rabbitmq", servers.PrivateRabbit.stop_signal),
    ):
        record = LocalRecord(name)
        pid = record.running_pid()
        if pid is None:
            say(f"no project-local {name} is running")
        elif servers.stop_process_group(pid, stop_signal, READY_TIMEOUT):
            say(f"stopped the project-local {name} (pid {pid})")
        else:
            say(f"killed the project-local {name} (pid {pid}): it ignored {stop_signal.name}")
        record.path.unlink(missing_ok=True)


def clean_local() -> None:
    stop_local()
    for folder in (LOCAL, outside_folder()):
        if folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.geteuid():
            shutil.rmtree(folder)
            say(f"removed {folder}")


def main(argv: list[str]) -> int:
    commands = {"ensure": ensure, "stop-local": stop_local, "clean-local": clean_local}
    arguments_ok = argv[:1] == ["ensure"] and set(argv[1:]) <= set(ENSURE) or len(argv) == 1
    if not argv or argv[0] not in commands or not arguments_ok:
        print(
            f"usage: {Path(sys.argv[0]).name} {{ensure [{'|'.join(ENSURE)}]...|stop-local|clean-local}}",
            file=sys.stderr,
        )
        return 2
    try:
        commands[argv[0]](*argv[1:])
    except (InfraError, servers.ServerError) as exc:
        print(f"infra: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
