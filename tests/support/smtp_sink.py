"""A local SMTP server (aiosmtpd) that keeps every message it accepts and refuses recipients on
demand: the stand-in for the mail server. It runs as a subprocess — asyncio and the test
process's eventlet monkey patch do not mix — and shares two files with the tests: a spool folder
of received messages (one JSON file each) and ``refusals.json`` (address -> SMTP reply).

    with SmtpSink(tmp_path) as smtp:
        smtp.port
        smtp.refuse("a@example.com", "550 5.1.1 no such mailbox")   # or "451 4.3.0 try again later"
        smtp.messages()   # [{"from", "to", "data"}, ...]
"""

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class SmtpSink:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.spool = self.folder / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.refusals = self.folder / "refusals.json"
        self.port = _free_port()
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.smtp_sink", "--port", str(self.port), "--folder", str(self.folder)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def refuse(self, address, reply):
        current = json.loads(self.refusals.read_text()) if self.refusals.exists() else {}
        temporary = self.refusals.with_suffix(".tmp")
        temporary.write_text(json.dumps({**current, address: reply}))
        temporary.replace(self.refusals)

    def messages(self):
        return [json.loads(path.read_text()) for path in sorted(self.spool.glob("*.json"))]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serve(port, folder):
    """The server side (the subprocess): runs until terminated."""
    import itertools
    import signal

    from aiosmtpd.controller import Controller

    folder = Path(folder)
    counter = itertools.count(1)

    class Recorder:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            refusals = folder / "refusals.json"
            refused = json.loads(refusals.read_text()) if refusals.exists() else {}
            if address in refused:
                return refused[address]
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            n = next(counter)
            message = {"from": envelope.mail_from, "to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8")}
            temporary = folder / "spool" / f"{n:05d}.tmp"
            temporary.write_text(json.dumps(message, ensure_ascii=False))
            temporary.replace(temporary.with_suffix(".json"))
            return f"250 2.0.0 OK queued as {n}"

    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # before the server's thread starts: it inherits the mask
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait(stop)
    controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", required=True)
    args = parser.parse_args()
    serve(args.port, args.folder)
