"""A queue consumer's connection is never re-established behind its back (real broker).

kombu re-establishes a lost connection on the next use of ``Connection.connection`` — silently,
with no channel and no consumers on the new one. When a worker's ack fails on the broken socket
first, a consumer reading next drains that empty connection for ever: seen in the cluster drill,
where notifications' queues were left without consumers and its RPC replies unroutable for good.
``ConsumingConnection`` (the platform's queue consumer's) raises instead, so the consumer
reconnects the whole way.
"""

import socket

import pytest
from kombu import Connection

from alliance_platform.entrypoints import ConsumingConnection, SizedQueueConsumer
from tests.support.helpers import deliver, query, wait_until
from tests.support.probe import ProbeConsumer


def _break_under_a_failed_ack(conn):
    """The connection's socket dies; a worker's ack on it fails first (the kombu consumer has not
    read since). Returns the broken amqp connection."""
    channel = conn.default_channel
    broken = conn.connection
    broken.transport.sock.shutdown(socket.SHUT_RDWR)
    with pytest.raises(OSError):
        channel.basic_ack(1)
    return broken


def test_kombu_alone_replaces_a_lost_connection_with_an_empty_one_in_silence(rabbit_config):
    # The trap the platform's consumer guards against: if kombu ever stops doing this, the guard
    # below can go.
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        conn.ensure_connection(max_retries=1)
        broken = _break_under_a_failed_ack(conn)
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.2)  # nothing raised about the loss: it waits on a new connection
        assert conn.connection is not broken
        assert list(conn.connection.channels) == [0], "the new connection has no channel, no consumers"


def test_the_consumers_connection_reports_the_loss_instead(rabbit_config):
    with ConsumingConnection(rabbit_config["AMQP_URI"]) as conn:
        conn.ensure_connection(max_retries=1)
        conn.established = True
        broken = _break_under_a_failed_ack(conn)
        with pytest.raises(conn.connection_errors):
            conn.drain_events(timeout=0.2)
        with pytest.raises(conn.connection_errors):
            conn.heartbeat_check()
        assert conn._connection is broken, "nothing was established in its place"


def test_the_consumers_connection_is_established_as_any_other_before_it_consumes(rabbit_config):
    with ConsumingConnection(rabbit_config["AMQP_URI"]) as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected and list(conn.connection.channels) == [0]
        conn.established = True
        conn.default_channel.basic_qos(0, 10, False)  # usable as ever while it lives
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.1)


def _consumed_on(queue_consumer):
    """The amqp connection(s) the queue consumer's consumers are registered on."""
    return {consumer.channel.connection for consumer in queue_consumer._consumers.values()}


def test_a_running_services_consumers_are_on_such_a_connection(container_factory, service_config):
    container = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    container.start()
    [queue_consumer] = {ext for ext in container.extensions if isinstance(ext, SizedQueueConsumer)}
    [live] = {connection.client for connection in _consumed_on(queue_consumer)}
    assert isinstance(live, ConsumingConnection) and live.established and live.connected


def test_a_service_whose_consumer_connection_is_marked_lost_consumes_again_on_a_new_one(
    container_factory, service_config
):
    container = container_factory(ProbeConsumer, service_config("probe_consumer", kind="probe"))
    container.start()
    [queue_consumer] = {ext for ext in container.extensions if isinstance(ext, SizedQueueConsumer)}
    [before] = _consumed_on(queue_consumer)
    # What a worker's ack failing on a broken socket leaves behind (amqp.transport.Transport.write):
    # the connection marked lost while the consumer is not reading. With kombu's own connection the
    # consumer's next heartbeat check replaced it in silence, and its consumers stayed on the old one.
    before.transport.connected = False

    def consuming_anew():
        now = _consumed_on(queue_consumer)
        return len(now) == 1 and None not in now and before not in now and next(iter(now)).connected

    wait_until(consuming_anew, timeout=30, message="the consumers registered again on a new connection")
    payload = {"item_id": "after-the-loss", "aggregate": "a-1", "seq": 1}
    deliver(container, "handle_probe_item_recorded", "probe", "item_recorded", payload)
    [effect] = query(container.config["DATABASE_URL"], "SELECT item_id FROM probe_effects")
    assert effect["item_id"] == "after-the-loss"
