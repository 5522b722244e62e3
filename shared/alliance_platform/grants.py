"""Who may call which RPC methods: one table for the broker and for the services themselves.

``RPC_CALLS``: caller -> ["service.method", ...]; "service.*" allows every method of that service.
The broker's permissions are derived from it (deploy/rabbitmq/definitions.py loads this file by
path), and a receiving service refuses a call its caller's grants do not cover
(``Identity.require_grant``), so a service calling outside its row is refused even on a broker
without permissions (development's guest). Services list exactly the calls their code makes (grep
ServiceRpc in services/; tests/deploy/test_broker_definitions.py fails when code and table differ).
Other callers are clients acting through AllianceClient, each with a broker user of its own.

Standard library only (nothing at all, in fact): the broker definitions script runs under any
Python 3.11 without the platform installed.
"""

# The services that own queues: an RPC queue, event handler queues, an event exchange, dead letters.
SERVICES = ("registry", "tickets", "events", "notifications")
# Front doors (the HTTP gateway, services/gateway): processes that call the services *as their
# callers*, with the caller's token, and own nothing on the broker but their reply queues. They
# answer no call, publish no event and consume none.
FRONT_DOORS = ("gateway",)

RPC_CALLS = {
    # Sign-in codes go out through notifications.send.
    "registry": ["notifications.send"],
    "tickets": [],
    "events": ["registry.get_merchant", "registry.list_organisations", "registry.resolve_audience"],
    "notifications": ["registry.resolve_audience"],
    # The gateway serves every public method over HTTP (the routes declared on them): every method
    # of each service while each has a route (tests/deploy checks; list the routed ones otherwise).
    "gateway": [f"{service}.*" for service in SERVICES],
    # The `alliance` operator CLI: demo data, support work, dead letters.
    "operator": [f"{service}.*" for service in SERVICES],
}


def covers(grants, entrypoint):
    """Whether ``grants`` ("svc.method" or "svc.*" each) allow calling ``entrypoint`` ("svc.method")."""
    service, _, _method = entrypoint.partition(".")
    return entrypoint in grants or f"{service}.*" in grants


def service_grants(service):
    """The method grants of a service's own identity: its row of ``RPC_CALLS`` (none if it has none)."""
    return frozenset(RPC_CALLS.get(service, ()))
