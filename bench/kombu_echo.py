"""Baseline: request/reply in plain AMQP, the floor under any RPC framework on this broker.

``python -m bench.kombu_echo AMQP_URI`` answers every request on ``QUEUE`` with its own body, sent
to the request's ``reply_to`` queue with its ``correlation_id``. ``KombuRpc`` is the client side.
"""

import sys
import uuid

from kombu import Connection, Consumer, Producer, Queue

QUEUE = "bench_kombu_echo"
PREFETCH = 10  # as many unacked requests as a nameko service's 10 workers hold


def serve(amqp_uri):
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        channel.basic_qos(0, PREFETCH, False)
        producer = Producer(channel, serializer="json")

        def reply(body, message):
            properties = message.properties
            producer.publish(body, routing_key=properties["reply_to"], correlation_id=properties["correlation_id"])
            message.ack()

        with Consumer(channel, [Queue(QUEUE, auto_delete=True)], callbacks=[reply], accept=["json"]):
            while True:
                connection.drain_events()


class KombuRpc:
    """Publishes requests with ``reply_to`` and ``correlation_id``; reads answers from its own queue.

    ``call_async(value).result()`` mirrors nameko's proxies, so the bench drives both alike.
    """

    def __init__(self, amqp_uri, timeout=10):
        self._connection = Connection(amqp_uri)
        self._timeout = timeout
        self._replies = {}

    def __enter__(self):
        channel = self._connection.channel()
        self._reply_queue = Queue(f"bench_kombu_reply_{uuid.uuid4().hex}", exclusive=True, auto_delete=True)
        Consumer(channel, [self._reply_queue], callbacks=[self._on_reply], no_ack=True, accept=["json"]).consume()
        self._producer = Producer(channel, serializer="json")
        return self

    def __exit__(self, *exc):
        self._connection.close()

    def call_async(self, value):
        correlation_id = uuid.uuid4().hex
        self._producer.publish(value, routing_key=QUEUE, reply_to=self._reply_queue.name, correlation_id=correlation_id)
        return _Reply(self, correlation_id)

    def _on_reply(self, body, message):
        self._replies[message.properties["correlation_id"]] = body

    def wait(self, correlation_id):
        # Answers to later requests that arrive first wait in ``_replies`` for their caller.
        while correlation_id not in self._replies:
            self._connection.drain_events(timeout=self._timeout)
        return self._replies.pop(correlation_id)


class _Reply:
    def __init__(self, client, correlation_id):
        self._client, self._correlation_id = client, correlation_id

    def result(self):
        return self._client.wait(self._correlation_id)


if __name__ == "__main__":
    serve(sys.argv[1])
