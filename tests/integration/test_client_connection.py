"""The standalone client (``AllianceClient``) recovers from a reconnect that failed half-way.

Seen in the cluster drill (SIGKILL of the node the client was connected to): nameko's polling
reply consumer reconnects in place; the new connection reached a node where its reply queue could
not be declared and bound again (``NotFound``), and the consumer was left holding the old, closed
channel — the caller got that ``NotFound``, then ``AttributeError: 'NoneType' object has no
attribute 'drain_events'`` on every later call for as long as it ran. Here the half-way reconnect
is made happen on the machine's broker: the reply consumer's connection is closed while the vhost
refuses to declare queues. A caller must see only ``ServiceUnavailable`` and, once the broker lets
it, be answered again by the same client.
"""

import pytest

from alliance_platform.errors import ServiceUnavailable
from tests.support.helpers import wait_until


def _reply_consumer_connections(rabbit_manager, vhost):
    # The management API lists a consumer before its channel's details are known (then an empty list).
    return {
        consumer["channel_details"]["connection_name"]
        for consumer in rabbit_manager._get("consumers", vhost)
        if consumer["queue"]["name"].startswith("rpc.reply-standalone_rpc_proxy") and consumer["channel_details"]
    }


def test_a_reply_consumer_that_cannot_reconnect_fully_is_unavailable_then_answered_again(
    probe, client, rabbit_config, rabbit_manager
):
    vhost, user = rabbit_config["vhost"], rabbit_config["username"]
    with client(timeout=5) as alliance:
        alliance.retries = 0  # see each attempt's own outcome
        assert alliance.probe.ping() == "pong"
        [connection] = wait_until(
            lambda: _reply_consumer_connections(rabbit_manager, vhost),
            message="the reply consumer, as the broker sees it",
        )
        rabbit_manager.set_vhost_permissions(vhost, user, "^$", ".*", ".*")  # no queue can be declared
        try:
            rabbit_manager.delete_connection(connection)
            with pytest.raises(ServiceUnavailable):
                alliance.probe.ping()
            with pytest.raises(ServiceUnavailable):  # still refused: typed again, not a broken consumer
                alliance.probe.ping()
        finally:
            rabbit_manager.set_vhost_permissions(vhost, user, ".*", ".*", ".*")
        assert alliance.probe.ping() == "pong"
        alliance.retries = 2
        assert alliance.probe.ping() == "pong"
