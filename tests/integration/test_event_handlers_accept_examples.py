"""Every event handler of every service accepts every documented example of its event."""

import pytest
from kombu import Connection, Exchange
from nameko.testing.services import entrypoint_waiter

from alliance_contracts import example_envelopes
from alliance_platform.config import installed_services, service_class


def _handlers():
    for name in installed_services():
        cls = service_class(name)
        for attr in dir(cls):
            handles = getattr(getattr(cls, attr), "handles", None)
            if handles:
                yield pytest.param(name, attr, handles, id=f"{name}.{attr}")


HANDLERS = list(_handlers())


def test_the_services_declare_handlers():
    assert HANDLERS, "no service declares an event handler yet"


@pytest.mark.parametrize("service, method, handles", HANDLERS)
def test_handler_accepts_the_documented_examples(service, method, handles, container_factory, service_config):
    container = container_factory(service_class(service), service_config(service))
    container.start()
    source, event_type = handles
    with Connection(container.config["AMQP_URI"]) as conn:
        producer = conn.Producer()
        for envelope in example_envelopes(source, event_type):
            with entrypoint_waiter(container, method) as result:
                producer.publish(
                    envelope,
                    exchange=Exchange(f"{source}.events", type="topic", durable=True),
                    routing_key=event_type,
                    serializer="json",
                )
            result.get()  # re-raises what the handler raised
