"""Publishing through nameko without a kombu Connection built per message (``messaging.pooled_producer``):
the producer comes from the very pool nameko's ``get_producer`` would use."""

import nameko.amqp.publish
from kombu.pools import producers

from alliance_platform import (
    entrypoints,  # noqa: F401 - installs it, as in every service process
    messaging,
)

URI = "amqp://guest:guest@127.0.0.1:5672/pooled-producer-test"


def test_a_platform_process_publishes_through_the_pooled_producer():
    assert nameko.amqp.publish.get_producer is messaging.pooled_producer


def test_equal_arguments_take_the_same_pool_and_build_its_connection_once(monkeypatch):
    built = []
    real = messaging.Connection

    def counting(*args, **kwargs):
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(messaging, "Connection", counting)
    monkeypatch.setattr(messaging, "_POOL_KEYS", {})
    with messaging.pooled_producer(URI, False) as first:
        pass
    with messaging.pooled_producer(URI, False) as second:
        pass
    assert second is first and len(built) == 1
    with messaging.pooled_producer(URI, True) as confirming:
        pass
    assert len(built) == 2, "publisher confirms are another pool"
    # nameko's own get_producer reaches the same pool: the connections are equal.
    assert (
        producers[
            real(URI, transport_options={**nameko.amqp.publish.DEFAULT_TRANSPORT_OPTIONS, "confirm_publish": False})
        ]
        is producers[messaging._POOL_KEYS[next(iter(messaging._POOL_KEYS))]]
    )
    assert confirming is not first
