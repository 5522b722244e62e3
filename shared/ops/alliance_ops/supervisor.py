"""``alliance up``: the four services and the HTTP gateway in one terminal, logs merged and labelled,
one Ctrl-C stops all.

Each service runs as its own process (``alliance-service NAME``), exactly as in production; this
supervisor only starts them, prefixes their output, waits until each reports ready, runs an
optional step once all are (loading demo data), and on Ctrl-C or SIGTERM asks each to stop, waiting
for the work in flight before it would kill a straggler. It ends only the processes it started.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from alliance_platform.config import load_config

COLOURS = ["36", "33", "35", "32", "34", "31"]
STOP_GRACE = 30


def health_url(config):
    port = str(config["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[-1]
    return f"http://127.0.0.1:{port}/health/ready"


def is_ready(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Supervisor:
    def __init__(self, services, out=sys.stdout, env=None):
        self.services = services
        self.out = out
        self.env = env or os.environ.copy()
        self.processes = {}
        self._print_lock = threading.Lock()
        self._stopping = threading.Event()
        width = max(len(s) for s in services)
        colour = out.isatty()
        self.labels = {
            name: (f"\033[{COLOURS[i % len(COLOURS)]}m{name:<{width}} |\033[0m " if colour else f"{name:<{width}} | ")
            for i, name in enumerate(services)
        }

    def say(self, text, label=None):
        with self._print_lock:
            self.out.write(f"{label or ''}{text}\n")
            self.out.flush()

    def start(self, names=None):
        """Start the services (or only ``names``: after a crash, say)."""
        executable = Path(sys.executable).with_name("alliance-service")
        for name in names or self.services:
            process = subprocess.Popen(
                [str(executable), name],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                env=self.env,
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops each service itself
            )
            self.processes[name] = process
            threading.Thread(target=self._pump, args=(name, process), daemon=True).start()

    def _pump(self, name, process):
        for line in process.stdout:
            self.say(line.rstrip("\n"), self.labels[name])

    def wait_ready(self, timeout=90, names=None):
        names = names or self.services
        urls = {name: health_url(load_config(name)) for name in names}
        pending = set(names)
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with code {self.processes[name].returncode} while starting")
                if is_ready(urls[name]):
                    pending.discard(name)
                    self.say(f"{name} is ready ({urls[name]})", "alliance: ")
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout}s: {sorted(pending)}")
            if pending:
                time.sleep(0.2)

    def wait(self):
        """Block until a signal asks to stop or a service dies; returns the exit code to use."""
        previous = {sig: signal.signal(sig, lambda *_: self._stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self._stopping.wait(0.5):
                dead = [n for n, p in self.processes.items() if p.poll() is not None]
                if dead:
                    self.say(f"{', '.join(dead)} stopped unexpectedly; stopping the others", "alliance: ")
                    return 1
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop within {STOP_GRACE}s; killing it", "alliance: ")
                process.kill()
                process.wait()
        self.say("all services stopped", "alliance: ")
