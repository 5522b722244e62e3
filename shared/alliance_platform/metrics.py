"""Prometheus metrics of one service: ``GET /metrics``.

Counters and latencies are recorded per call by ``context.CallContext``; the outbox backlog and the
dead letters are read when Prometheus scrapes, from the same check the readiness probe runs. Each
container has its own registry, so several services in one process (tests) never collide.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# An event's wait for the relay: milliseconds when it keeps up, up to the retry backoff cap when not.
OUTBOX_WAIT_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300)


class Metrics:
    def __init__(self, service):
        self.registry = CollectorRegistry()
        labels = {"registry": self.registry}
        self.rpc_calls = Counter(
            "alliance_rpc_calls", "RPC calls handled, by method and outcome", ["service", "method", "outcome"], **labels
        )
        self.rpc_latency = Histogram(
            "alliance_rpc_duration_seconds",
            "RPC handling time, by method",
            ["service", "method"],
            buckets=LATENCY_BUCKETS,
            **labels,
        )
        self.http_requests = Counter(
            "alliance_http_requests",
            "HTTP requests an HTTP front door (the gateway) handled, by operation and outcome",
            ["service", "operation", "outcome"],
            **labels,
        )
        self.http_latency = Histogram(
            "alliance_http_request_duration_seconds",
            "HTTP handling time (the downstream call included), by operation",
            ["service", "operation"],
            buckets=LATENCY_BUCKETS,
            **labels,
        )
        self.events = Counter(
            "alliance_events_handled",
            "Events handled, by handler and outcome",
            ["service", "handler", "outcome"],
            **labels,
        )
        self.event_delay = Histogram(
            "alliance_event_delay_seconds",
            "From an event's occurred_at (its producer's clock, just before its commit) to the commit of"
            " a handler's effect, by handler",
            ["service", "handler"],
            buckets=OUTBOX_WAIT_BUCKETS,
            **labels,
        )
        self.outbox_backlog = Gauge(
            "alliance_outbox_backlog", "Events committed but not yet published", ["service"], **labels
        )
        self.outbox_failing = Gauge(
            "alliance_outbox_failing", "Unpublished events whose last attempt failed", ["service"], **labels
        )
        self.outbox_wait = Histogram(
            "alliance_outbox_wait_seconds",
            "From the transaction that wrote an event to the relay reading it to publish (database clock;"
            " a retried event's backoff included)",
            ["service"],
            buckets=OUTBOX_WAIT_BUCKETS,
            **labels,
        )
        self.outbox_unrouted = Counter(
            "alliance_outbox_unrouted",
            "Events published that no queue was bound for (nobody subscribes to the type), by type",
            ["service", "event_type"],
            **labels,
        )
        self.dead_letters = Gauge(
            "alliance_dead_letters", "Messages waiting in the dead-letter queue", ["service"], **labels
        )
        self.ready = Gauge(
            "alliance_ready",
            "1 when the database and the broker answer and the relay can publish",
            ["service"],
            **labels,
        )
        self.service = service

    def observe(self, kind, method, outcome, seconds):
        if kind == "rpc":
            self.rpc_calls.labels(self.service, method, outcome).inc()
            self.rpc_latency.labels(self.service, method).observe(seconds)
        elif kind == "http":
            self.http_requests.labels(self.service, method, outcome).inc()
            self.http_latency.labels(self.service, method).observe(seconds)
        elif kind == "eventhandler":
            self.events.labels(self.service, method, outcome).inc()

    def exposition(self, ready, report):
        """The text Prometheus scrapes, with the gauges set from a readiness ``report``."""
        self.ready.labels(self.service).set(1 if ready else 0)
        outbox = report.get("outbox")
        if outbox:
            self.outbox_backlog.labels(self.service).set(outbox["backlog"])
            self.outbox_failing.labels(self.service).set(outbox["failing"])
        if "dead_letters" in report:
            self.dead_letters.labels(self.service).set(report["dead_letters"])
        return generate_latest(self.registry).decode()


CONTENT_TYPE = CONTENT_TYPE_LATEST


def metrics_of(container):
    """The one ``Metrics`` of a service container, shared by its calls and its outbox relay."""
    metrics = getattr(container, "alliance_metrics", None)
    if metrics is None:
        metrics = container.alliance_metrics = Metrics(container.service_name)
    return metrics
