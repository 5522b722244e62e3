"""``alliance-service NAME``: run one service in this process until SIGTERM or Ctrl-C.

On SIGTERM or SIGINT the service stops taking new work, lets the workers in flight finish
(their transactions commit, their messages are acked) and exits 0.
"""

import eventlet

eventlet.monkey_patch()  # before anything else imports socket, threading or select

import argparse  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import structlog  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from . import logs  # noqa: E402
from .config import installed_services, load_config, service_class  # noqa: E402
from .service import STARTED_MARK  # noqa: E402
from .store import green  # noqa: E402

log = structlog.get_logger("alliance.runner")


def run(name):
    green.install()
    config = load_config(name)
    logs.configure(config.get("LOG_FORMAT", "console"), config.get("LOG_LEVEL", "INFO"))
    runner = ServiceRunner(config)
    runner.add_service(service_class(name))
    stop_requested = eventlet.event.Event()

    def shutdown(signum, frame):
        # Only note it here: stopping while nameko is still starting the entrypoints leaves it
        # half-stopped and hanging, so the stop itself waits until the start is complete.
        if not stop_requested.ready():
            stop_requested.send(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    for container in runner.containers:
        setattr(container, STARTED_MARK, False)
    runner.start()
    for container in runner.containers:
        setattr(container, STARTED_MARK, True)
    log.info("service started", service=name, http=config.get("WEB_SERVER_ADDRESS"))

    def stop_when_asked():
        log.info("stopping: finishing the work in flight", service=name, signal=stop_requested.wait())
        runner.stop()

    eventlet.spawn_n(stop_when_asked)
    runner.wait()
    log.info("service stopped", service=name)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="alliance-service", description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=installed_services())
    args = parser.parse_args(argv)
    run(args.service)
    return 0


if __name__ == "__main__":
    sys.exit(main())
