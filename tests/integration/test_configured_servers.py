"""The suite uses the servers it is told to use: part of it, run in a subprocess with AMQP_URI,
RABBIT_MANAGEMENT_URI and PG_ADMIN_URL naming a private RabbitMQ (with its management API) and a
private PostgreSQL on ports of their own, passes; its vhosts and databases were made on those
servers; and the servers this run uses (the machine's, by default) saw none of it.

While the subprocess runs, the test looks every 0.2 s at the private servers (vhosts, the run's
databases), at this run's PostgreSQL (the run's databases must not appear there) and at every TCP
connection of the subprocess and the processes it starts (none may go to this run's servers or to
the default ports 5672, 15672, 5432)."""

import ipaddress
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import eventlet
import psycopg
import pytest
import requests

from tests.support import servers
from tests.support.helpers import AMQP_URI, PG_ADMIN_URL, RABBIT_MANAGEMENT_URI

REPO = Path(__file__).resolve().parents[2]

# In-process services over the broker with per-test vhosts and databases from templates, the
# migration command in processes of its own, and the four services as processes (tests/e2e).
SUBSET = [
    "tests/integration/test_rpc_contract.py",
    "tests/integration/test_migrate.py",
    "tests/e2e/test_system.py",
]
DEFAULT_PORTS = {5672, 15672, 5432}
RUN_DEADLINE = 600


@pytest.fixture(scope="module")
def private_servers():
    with servers.workdir("alliance-configured-") as folder:
        management_port = servers.free_ports(1)[0]
        with (
            servers.PrivateRabbit(folder / "rabbitmq", management_port=management_port) as rabbit,
            servers.PrivatePostgres(folder / "postgres") as postgres,
        ):
            yield rabbit, postgres


def _address(url):
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _forbidden_ports():
    """Ports the subprocess must never connect to: those of the servers this run uses, and the
    defaults (tests/support/helpers.py, shared/alliance_platform/defaults.yaml)."""
    return DEFAULT_PORTS | {_address(url)[1] for url in (AMQP_URI, RABBIT_MANAGEMENT_URI, PG_ADMIN_URL)}


def _descendants(root):
    """`root` and every process below it, from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _remote_endpoints():
    """socket inode -> (remote address, remote port) of every TCP socket on the machine."""
    endpoints = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port = fields[2].split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word of the address in host (little-endian) order.
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            endpoints[fields[9]] = (ipaddress.ip_address(packed), int(port, 16))
    return endpoints


def _connections_to(ports, root):
    """(pid, address, port) of the connections `root`'s processes hold to loopback `ports`."""
    endpoints = _remote_endpoints()
    found = set()
    for pid in _descendants(root):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                address, port = endpoints.get(target[8:-1], (None, None))
                if port in ports and address is not None and _is_loopback(address):
                    found.add((pid, str(address), port))
    return found


def _is_loopback(address):
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


class Watch:
    """What the subprocess made where, sampled while it runs."""

    def __init__(self, rabbit, postgres, prefix):
        self.prefix = prefix
        self.api = rabbit.management_uri.rstrip("/")
        self.private_pg = psycopg.connect(postgres.url(), autocommit=True)
        self.own_pg = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        self.private_vhosts, self.private_databases, self.own_databases = set(), set(), set()
        self.connections = set()

    def _databases(self, conn):
        rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (self.prefix,))
        return {name for (name,) in rows}

    def sample(self, pid):
        parts = urlsplit(self.api)
        response = requests.get(
            f"{parts.scheme}://{parts.hostname}:{parts.port}/api/vhosts", auth=(parts.username, parts.password)
        )
        response.raise_for_status()
        # A vhost the subprocess is deleting at that moment may be listed without its name.
        self.private_vhosts |= {vhost["name"] for vhost in response.json() if "name" in vhost} - {"/"}
        self.private_databases |= self._databases(self.private_pg)
        self.own_databases |= self._databases(self.own_pg)
        self.connections |= _connections_to(_forbidden_ports(), pid)

    def close(self):
        self.private_pg.close()
        self.own_pg.close()


def _environment(rabbit, postgres):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update(
        AMQP_URI=rabbit.amqp_uri,
        RABBIT_MANAGEMENT_URI=rabbit.management_uri,
        PG_ADMIN_URL=postgres.url(),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.slow
@pytest.mark.timeout(RUN_DEADLINE + 120)
def test_part_of_the_suite_passes_on_the_servers_the_variables_name_and_touches_no_other(private_servers, tmp_path):
    rabbit, postgres = private_servers
    assert not {rabbit.amqp_port, rabbit.management_port, postgres.port} & _forbidden_ports()
    log_path = tmp_path / "subset.log"
    with log_path.open("w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", *SUBSET],
            cwd=REPO,
            env=_environment(rabbit, postgres),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    watch = Watch(rabbit, postgres, prefix=f"alliance_t{child.pid}_")
    try:
        deadline = time.monotonic() + RUN_DEADLINE
        while child.poll() is None and time.monotonic() < deadline:
            watch.sample(child.pid)
            eventlet.sleep(0.2)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        watch.close()
    output = log_path.read_text()
    summary = output.strip().splitlines()[-1]
    outcomes = {outcome: int(count) for count, outcome in re.findall(r"(\d+) (\w+)", summary.split(" in ")[0])}

    assert child.returncode == 0, output[-6000:]
    # Every collected test passed: none skipped, none deselected, none expected to fail.
    assert outcomes.get("passed", 0) >= 10 and set(outcomes) <= {"passed", "warning", "warnings"}, summary
    problems = []
    if not watch.private_vhosts:
        problems.append("no vhost was made on the private broker")
    if not any(name.endswith("_template") for name in watch.private_databases):
        problems.append(f"no template database was made on the private PostgreSQL: {watch.private_databases}")
    if watch.own_databases:
        problems.append(f"databases made on {PG_ADMIN_URL}: {sorted(watch.own_databases)}")
    if watch.connections:
        problems.append(f"connections to this run's or the default servers: {sorted(watch.connections)}")
    assert not problems, problems


@pytest.mark.parametrize(
    ("option", "variable"),
    [
        ("--amqp-uri=amqp://guest:guest@elsewhere:5673/", "AMQP_URI"),
        ("--rabbit-ctl-uri=http://elsewhere", "RABBIT_MANAGEMENT_URI"),
    ],
)
def test_naming_the_broker_to_nameko_alone_is_refused_for_the_variable(option, variable):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", option, "tests/unit/test_clock.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert f"is not used by this suite: set {variable} instead" in run.stderr
