"""A three-node RabbitMQ cluster on this machine, for drills that lose a node.

Each node is a ``PrivateRabbit`` (own AMQP and distribution ports, data under its own folder of the
cluster's workdir), all with one Erlang cookie of their own — the machine's broker and its cookie
are never touched. The nodes boot in parallel, standalone; then every node but the first joins the
first (``rabbitmqctl stop_app; join_cluster; start_app``), one node at a time as RabbitMQ's
clustering guide does it: two nodes merging their schema into the first at once failed on a loaded
machine (CI, 2026-12-04). A join that fails is retried after ``reset``, up to three times. The
broker definitions of deploy/rabbitmq are rendered with generated passwords and imported as a
deployment imports them (``import_definitions``), once per vhost a drill asks for.

    with workdir("alliance-cluster-") as folder, RabbitCluster(folder) as cluster:
        uri = cluster.amqp_uri("tickets", vhost)   # "amqp://tickets:…@127.0.0.1:p1/v;…p2/v;…p3/v"
        cluster.nodes[0].stop()                     # graceful; .kill() for SIGKILL; .start() again

Standard library only, like servers.py.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.servers import PrivateRabbit, ServerError, prepare_workdir, stop_process_group

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _definitions_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("alliance_broker_definitions", DEPLOY / "rabbitmq" / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rabbitmqctl_path() -> Path:
    """RabbitMQ's own rabbitmqctl: Debian's /usr/sbin one switches user and HOME (the cookie)."""
    for candidate in ("/usr/lib/rabbitmq/bin/rabbitmqctl",):
        if os.path.exists(candidate):
            return Path(candidate)
    raise ServerError("rabbitmqctl not found (apt-get install rabbitmq-server)")


class ClusterNode(PrivateRabbit):
    """A PrivateRabbit sharing the cluster's Erlang cookie; ``kill()`` is SIGKILL."""

    def __init__(self, workdir, cookie, **kwargs):
        super().__init__(workdir, **kwargs)
        self.cookie = cookie

    def _prepare(self) -> None:
        super()._prepare()
        cookie = self.workdir / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self.cookie)
            if self._account is not None:
                os.chown(cookie, self._account.pw_uid, self._account.pw_gid)
            cookie.chmod(0o400)

    def kill(self) -> None:
        """SIGKILL the node and everything it forked: no goodbye to its clients or its peers."""
        if self._process is None:
            return
        stop_process_group(self._process.pid, 9, self.stop_timeout)
        self._ended()

    def ctl(self, *args: str, timeout: float = 120.0) -> str:
        """rabbitmqctl against this node, with the cluster's cookie; returns its output."""
        done = subprocess.run(
            [str(rabbitmqctl_path()), "-n", self.node_name, "--erlang-cookie", self.cookie, *args],
            env={**os.environ, "HOME": str(self.workdir)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            # One line: pytest's short summary (CI's report) shows only a message's first line.
            said = " | ".join(line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip())
            raise ServerError(f"rabbitmqctl {' '.join(args)} on {self.node_name} (exit {done.returncode}): {said}")
        return done.stdout


class RabbitCluster:
    """``size`` RabbitMQ nodes joined into one cluster, the broker definitions importable per vhost."""

    def __init__(self, workdir, size: int = 3, start_timeout: float = 240.0):
        self.workdir = Path(workdir)
        self.cookie = secrets.token_hex(20)
        self.definitions = _definitions_module()
        self.nodes = [
            ClusterNode(self.workdir / f"node-{n}", self.cookie, node_name=f"alliance-drill-{n}-{self.cookie[:6]}")
            for n in range(1, size + 1)
        ]
        for node in self.nodes:
            node.start_timeout = start_timeout
        users = [user["name"] for user in self.definitions.generate()["users"]]
        self.passwords = {user: secrets.token_hex(16) for user in users}
        self.vhosts = set()

    def start(self) -> None:
        prepare_workdir(self.workdir, self.nodes[0]._account)
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.start(), self.nodes))
        first = self.nodes[0]

        for node in self.nodes[1:]:
            self._join(node, first)
        status = json.loads(first.ctl("cluster_status", "--formatter", "json"))
        running = set(status.get("running_nodes", []))
        if running != {node.node_name for node in self.nodes}:
            raise ServerError(f"the cluster formed with {sorted(running)} running")

    @staticmethod
    def _join(node: ClusterNode, first: ClusterNode, attempts: int = 3) -> None:
        node.ctl("stop_app")
        for attempt in range(1, attempts + 1):
            try:
                node.ctl("join_cluster", first.node_name)
                break
            except ServerError as exc:
                if attempt == attempts:
                    raise
                print(f"cluster: join {attempt} of {node.node_name} failed, reset and again: {exc}", flush=True)
                node.ctl("reset")
        node.ctl("start_app")

    def stop(self) -> None:
        problems = []
        for node in reversed(self.nodes):
            try:
                node.stop()
            except ServerError as exc:  # killed after ignoring SIGTERM: still gone
                problems.append(str(exc))
        if problems:
            raise ServerError("; ".join(problems))

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            for node in self.nodes:
                node.kill()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # definitions -----------------------------------------------------------------------------

    def load_definitions(self, vhost: str) -> None:
        """Import deploy/rabbitmq's definitions for ``vhost`` (users with this cluster's passwords)
        through the first running node, as an operator imports them into a deployed cluster."""
        document = self.definitions.generate(vhost=vhost)
        for user in document["users"]:
            user["password_hash"] = self.definitions.password_hash(self.passwords[user["name"]])
        path = self.workdir / f"definitions-{vhost}.json"
        path.write_text(json.dumps(document))
        path.chmod(0o644)
        node = next(node for node in self.nodes if node.running)
        node.ctl("import_definitions", str(path))
        self.vhosts.add(vhost)

    def amqp_uri(self, user: str, vhost: str, nodes=None) -> str:
        """Every node (or those given), in order, in kombu's failover syntax."""
        password = urllib.parse.quote(self.passwords[user], safe="")
        quoted = urllib.parse.quote(vhost, safe="")
        return ";".join(
            f"amqp://{user}:{password}@{node.host}:{node.amqp_port}/{quoted}" for node in (nodes or self.nodes)
        )
