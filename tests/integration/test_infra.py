"""scripts/infra.py's project-local PostgreSQL at its two set-up edges: a checkout its account cannot
reach (a clone in /root), and a machine cluster that says it runs while nothing answers on its port.

Each test runs infra under the system python3, as `make` does, from a copy of the files it needs
placed in a folder only its owner may pass through (mode 0700, like /root); the copy's project-local
servers, pid files and data are its own and `clean-local` removes them."""

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.support import servers

REPO = Path(__file__).resolve().parents[2]
INFRA_FILES = ("scripts/infra.py", "tests/__init__.py", "tests/support/__init__.py", "tests/support/servers.py")

pytestmark = pytest.mark.slow


class Checkout:
    def __init__(self, root: Path):
        self.root = root
        self.script = root / "scripts" / "infra.py"

    def infra(self, *args, env):
        return subprocess.run(
            ["python3", str(self.script), *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    def module(self):
        """The copy's infra.py, loaded: its paths are those of this checkout."""
        spec = importlib.util.spec_from_file_location("alliance_infra_copy", self.script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


@pytest.fixture
def checkout():
    closed = Path(tempfile.mkdtemp(prefix="alliance-closed-"))
    assert closed.stat().st_mode & 0o777 == 0o700
    root = closed / "alliance"
    for name in INFRA_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    copy = Checkout(root)
    try:
        yield copy
    finally:
        cleaned = copy.infra("clean-local", env=dict(os.environ))
        shutil.rmtree(closed, ignore_errors=True)
        assert cleaned.returncode == 0, cleaned.stderr


def pg_env(port, **extra):
    return {**os.environ, "PG_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{port}/postgres", **extra}


def server_user():
    """Whom a project-local server runs as: the service account as root, else ourselves."""
    account = servers.service_account("postgres")
    return (account or pwd.getpwuid(os.geteuid())).pw_name


def data_directory(port):
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=10) as conn:
        return Path(conn.execute("SHOW data_directory").fetchone()[0])


def test_local_postgres_starts_when_the_checkout_is_in_a_folder_its_account_cannot_pass(checkout):
    port = servers.free_ports(1)[0]

    started = checkout.infra("ensure", "postgres", env=pg_env(port))

    assert started.returncode == 0, started.stdout + started.stderr
    assert "starting a project-local postgres" in started.stdout
    data = data_directory(port)
    assert data.owner() == server_user()
    # Where infra says it keeps the data, and where `clean-local` removes it from.
    outside = checkout.module().outside_folder()
    if server_user() == "postgres":
        assert data == outside / "postgres" / "data"
        assert outside.name.startswith("alliance-alliance-")
    else:
        assert data == checkout.root / ".local" / "postgres" / "data"

    again = checkout.infra("ensure", "postgres", env=pg_env(port))
    assert again.returncode == 0 and "accepts connections" in again.stdout and "starting" not in again.stdout

    cleaned = checkout.infra("clean-local", env=pg_env(port))
    assert cleaned.returncode == 0, cleaned.stderr
    assert servers.wait_until(lambda: not servers.port_open("127.0.0.1", port), 30)
    assert not outside.exists() and not (checkout.root / ".local").exists()


def test_a_machine_cluster_that_reports_running_with_nothing_on_its_port_falls_back_to_a_local_server(checkout):
    port = servers.free_ports(1)[0]
    with servers.workdir("alliance-stray-") as folder, servers.PrivatePostgres(folder / "stray") as stray:
        # A cluster of "the machine" (pg_lsclusters reads PG_CLUSTER_CONF_ROOT) whose configuration
        # names `port` while the server runs on another: changed after start, not yet restarted.
        version = servers.postgres_bindir().parent.name
        config = folder / "clusters" / version / "stray"
        config.mkdir(parents=True)
        (config / "postgresql.conf").write_text(
            f"port = {port}\ndata_directory = '{stray.data_dir}'\n"
            f"external_pid_file = '{stray.data_dir}/postmaster.pid'\n"
        )
        env = pg_env(port, PG_CLUSTER_CONF_ROOT=str(folder / "clusters"))
        listing = subprocess.run(["pg_lsclusters", "--no-header"], env=env, capture_output=True, text=True)
        assert listing.stdout.split()[:4] == [version, "stray", str(port), "online"], listing
        assert not servers.port_open("127.0.0.1", port)

        started = checkout.infra("ensure", "postgres", env=env)

        assert started.returncode == 0, started.stdout + started.stderr
        assert f"cluster {version}/stray is configured for port {port} and reports itself running" in started.stdout
        assert "starting a project-local postgres" in started.stdout
        assert data_directory(port) != stray.data_dir
        # The stray cluster was left alone.
        assert stray.running and data_directory(stray.port) == stray.data_dir


def test_local_broker_data_goes_where_its_account_can_reach_it_too(checkout):
    infra = checkout.module()
    workdir = infra.local_workdir("rabbitmq", "rabbitmq")
    account = servers.service_account("rabbitmq")
    if account is None:
        assert workdir == checkout.root / ".local" / "rabbitmq"
    else:
        assert workdir == infra.outside_folder() / "rabbitmq"
        servers.prepare_workdir(workdir, account)
        assert servers.blocking_parent(workdir, account) is None and workdir.owner() == "rabbitmq"
