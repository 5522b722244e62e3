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

log = structlog.get_logger("alliance.runner")


def run(name):
    config = load_config(name)
    logs.configure(config.get("LOG_FORMAT", "console"), config.get("LOG_LEVEL", "INFO"))
    runner = ServiceRunner(config)
    runner.add_service(service_class(name))

    def shutdown(signum, frame):
        log.info("stopping: finishing the work in flight", service=name, signal=signal.Signals(signum).name)
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service started", service=name, http=config.get("WEB_SERVER_ADDRESS"))
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
