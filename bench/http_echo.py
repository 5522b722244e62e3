"""Baseline: the barest nameko HTTP service, no platform code — what nameko's web server costs alone.

``python -m bench.http_echo ADDRESS`` answers ``GET /v1/tickets/<ticket_id>`` with the JSON text in
the environment variable ``BENCH_HTTP_ECHO_BODY`` (the gateway's answer to that path, a constant:
no worker does any work for it) and ``GET /health/ready`` with 200 once it serves.
"""

import eventlet

eventlet.monkey_patch()  # as nameko run and alliance-service do, before anything imports socket

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402
from nameko.web.handlers import http  # noqa: E402

BODY_VARIABLE = "BENCH_HTTP_ECHO_BODY"
BODY = os.environ.get(BODY_VARIABLE, "{}")
JSON = {"Content-Type": "application/json"}


class HttpEchoService:
    name = "bench_http_echo"

    @http("GET", "/v1/tickets/<ticket_id>")
    def ticket(self, request, ticket_id):
        return 200, JSON, BODY

    @http("GET", "/health/ready")
    def ready(self, request):
        return 200, JSON, '{"status": "ready"}'


def serve(address):
    runner = ServiceRunner({"WEB_SERVER_ADDRESS": address})
    runner.add_service(HttpEchoService)
    signal.signal(signal.SIGTERM, lambda signum, frame: eventlet.spawn_n(runner.stop))
    runner.start()
    runner.wait()


if __name__ == "__main__":
    serve(sys.argv[1])
