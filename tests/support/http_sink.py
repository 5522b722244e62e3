"""A local HTTP server that records what it receives and fails on demand: the stand-in for the SMS
gateway and the WeCom and DingTalk robots. A real server on 127.0.0.1 (green, in the test process),
so the adapters under test really connect, send, wait and time out.

    sink = HttpSink()
    sink.url("/sms")                          # point the adapter here
    sink.fail("/sms", status=503, times=2)    # the next two requests to /sms get a 503 (times=None: all)
    sink.stall("/sms", seconds=3, match="13900000001")   # requests whose body names that mobile hang
    sink.answer("/wecom", {"errcode": 45009, "errmsg": "api freq out of limit"})
    sink.received("/sms")                     # what arrived, in order
"""

import json
import os
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import eventlet
import eventlet.wsgi

OK = {"errcode": 0, "errmsg": "ok"}


@dataclass
class Received:
    path: str
    query: dict
    headers: dict
    body: dict
    at: float  # time.monotonic() on arrival


@dataclass
class _Plan:
    status: int
    body: dict
    delay: float
    times: int | None  # None: every request until cleared
    match: str | None  # only requests whose raw body contains this
    used: int = field(default=0)


class HttpSink:
    def __init__(self):
        self.requests = []
        self._plans = {}
        self._socket = eventlet.listen(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._log = open(os.devnull, "w")  # noqa: SIM115 - open for the server's whole life
        self._server = eventlet.spawn(eventlet.wsgi.server, self._socket, self._app, log=self._log, log_output=False)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path, body, status=200, times=1, match=None, delay=0.0):
        self._plans.setdefault(path, []).append(_Plan(status, body, delay, times, match))

    def fail(self, path, status=500, times=1, match=None):
        self.answer(path, {"error": "failing on demand"}, status=status, times=times, match=match)

    def stall(self, path, seconds, times=1, match=None):
        self.answer(path, OK, delay=seconds, times=times, match=match)

    def clear(self, path):
        """Answer ``path`` normally again."""
        self._plans.pop(path, None)

    def received(self, path=None):
        return [r for r in self.requests if path is None or r.path == path]

    def close(self):
        self._server.kill()
        self._socket.close()
        self._log.close()

    def _plan_for(self, path, raw):
        for plan in self._plans.get(path, []):
            if plan.times is not None and plan.used >= plan.times:
                continue
            if plan.match is not None and plan.match not in raw:
                continue
            plan.used += 1
            return plan
        return None

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length).decode() if length else ""
        path = environ["PATH_INFO"]
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        body = json.loads(raw) if raw else {}
        self.requests.append(Received(path, parse_qs(environ.get("QUERY_STRING", "")), headers, body, time.monotonic()))
        plan = self._plan_for(path, raw)
        status, answer = (200, OK) if plan is None else (plan.status, plan.body)
        if plan is not None and plan.delay:
            eventlet.sleep(plan.delay)
        start_response(f"{status} Answer", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]
