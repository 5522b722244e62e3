"""The broker definitions (deploy/rabbitmq) as compose loads them: rendered with passwords,
loaded at start into a real RabbitMQ (a private node with deploy/rabbitmq's rabbitmq.conf and
plugins). Every service, the gateway included, runs under its own user; each user is refused what
it has no right to; `guest` does not exist. The tables behind the definitions match what the code
does."""

import ast
import inspect
import json
import shutil
import uuid
from pathlib import Path

import amqp
import kombu
import pytest
import requests
from nameko.rpc import Rpc

from alliance_contracts import example_envelopes
from alliance_gateway.operations import operations
from alliance_ops import demo_data
from alliance_ops.deadletters import list_dead_letters
from alliance_platform.config import installed_services, load_config, service_class, service_package
from alliance_platform.messaging import ATTEMPTS, handler_queue_arguments, rpc_queue_arguments
from alliance_platform.rpc import AllianceClient
from tests.deploy.conftest import DEPLOY, load_definitions_module, write_broker_passwords
from tests.support.helpers import get_json, http_port, query, wait_until
from tests.support.servers import PrivateRabbit, free_ports
from tests.support.servers import workdir as private_workdir

DEFINITIONS = load_definitions_module()
SERVICES = DEFINITIONS.SERVICES
FRONT_DOORS = DEFINITIONS.FRONT_DOORS
REPLY_KEY = str(uuid.uuid4())
GATEWAY_REPLY_QUEUE = f"rpc.reply-gateway-{REPLY_KEY}"
HANDLER_QUEUE = "evt-registry-merchant_registered--tickets.handle_registry_merchant_registered"


class DeployedRabbit(PrivateRabbit):
    """A private node started as compose starts the alliance's broker: deploy/rabbitmq's
    rabbitmq.conf and enabled_plugins, and definitions.json rendered with the broker passwords by
    definitions.py, loaded at boot. Only its ports and paths are this test's own."""

    def __init__(self, workdir, secrets_dir, passwords):
        super().__init__(workdir, management_port=free_ports(1)[0])
        self.secrets_dir = secrets_dir
        self.passwords = passwords
        self.prometheus_port = free_ports(1)[0]

    def _prepare(self):
        super()._prepare()
        rendered = self.workdir / "definitions.json"
        assert DEFINITIONS.main(["--passwords", str(self.secrets_dir), "--out", str(rendered)]) == 0
        deploy_conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
        assert "load_definitions = /etc/rabbitmq/definitions/definitions.json" in deploy_conf
        conf = self.workdir / "rabbitmq.conf"
        conf.write_text(
            conf.read_text()
            + deploy_conf.replace("/etc/rabbitmq/definitions/definitions.json", str(rendered))
            # The Prometheus plugin's default port may be taken by the machine's own broker.
            + f"prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = {self.prometheus_port}\n"
        )
        shutil.copy(DEPLOY / "rabbitmq" / "enabled_plugins", self.workdir / "enabled_plugins")

    def uri(self, user, vhost=DEFINITIONS.VHOST):
        return f"amqp://{user}:{self.passwords[user]}@{self.host}:{self.amqp_port}/{vhost}"

    def api(self, method, path, **kwargs):
        response = requests.request(
            method,
            f"http://{self.host}:{self.management_port}/api/{path}",
            auth=(DEFINITIONS.ADMIN, self.passwords[DEFINITIONS.ADMIN]),
            timeout=10,
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None


@pytest.fixture(scope="module")
def broker():
    users = [user["name"] for user in DEFINITIONS.generate()["users"]]
    with private_workdir("alliance-deploy-rabbit-") as workdir:
        passwords = write_broker_passwords(workdir / "secrets", users)
        with DeployedRabbit(workdir / "rabbitmq", workdir / "secrets", passwords) as server:
            # Publishing needs an existing exchange; the services declare these when they start.
            with kombu.Connection(server.uri(DEFINITIONS.ADMIN)) as conn:
                for name in ["nameko-rpc", "alliance.retry", *(f"{s}.events" for s in SERVICES)]:
                    kombu.Exchange(name, type="topic", durable=True)(conn.default_channel).declare()
            yield server


def _connect(broker, user, vhost=DEFINITIONS.VHOST):
    password = broker.passwords.get(user, user)
    connection = amqp.Connection(
        f"{broker.host}:{broker.amqp_port}", userid=user, password=password, virtual_host=vhost, connect_timeout=5
    )
    connection.connect()
    return connection


# Queues declared here as the platform declares them (alliance_platform/messaging.py), so that the
# services started later in this module find them as they would declare them themselves.
RPC_QUEUE = {"durable": False, "arguments": rpc_queue_arguments()}
QUORUM = {"durable": True, "arguments": {"x-queue-type": "quorum"}}


def _declare(queue, how=QUORUM):
    return lambda channel: channel.queue_declare(queue, auto_delete=False, **how)


def _bind(queue, exchange, routing_key, how=None):
    how = how or {"durable": True, "arguments": handler_queue_arguments(queue.rpartition("--")[2].partition(".")[0])}

    def act(channel):
        channel.queue_declare(queue, auto_delete=False, **how)
        channel.queue_bind(queue, exchange, routing_key)

    return act


def _publish(exchange, routing_key):
    def act(channel):
        # In confirm mode the broker's refusal arrives before the publish returns.
        channel.confirm_select()
        channel.basic_publish_confirm(amqp.Message("{}"), exchange=exchange, routing_key=routing_key)

    return act


def _get(queue):
    return lambda channel: channel.basic_get(queue)


def _then(*actions):
    def act(channel):
        for action in actions:
            action(channel)

    return act


def _reply_queue(queue, routing_key):
    """Declared as the platform's reply listener declares it (exclusive, classic, bound to
    nameko-rpc by a uuid)."""

    def act(channel):
        channel.queue_declare(queue, durable=False, exclusive=True, arguments=rpc_queue_arguments())
        channel.queue_bind(queue, "nameko-rpc", routing_key)

    return act


ALLOWED = [
    ("tickets", "declare its own rpc queue", _declare("rpc-tickets", RPC_QUEUE)),
    ("tickets", "bind its rpc queue to its own methods", _bind("rpc-tickets", "nameko-rpc", "tickets.*", RPC_QUEUE)),
    ("tickets", "publish an RPC reply", _publish("nameko-rpc", str(uuid.uuid4()))),
    (
        "tickets",
        "bind its handler queue to a subscribed event",
        _bind(HANDLER_QUEUE, "registry.events", "merchant_registered"),
    ),
    ("tickets", "retry its own handler's message", _publish("alliance.retry", f"1000ms.{HANDLER_QUEUE}")),
    ("tickets", "declare its dead-letter queue", _declare("alliance.dead-letters.tickets")),
    ("tickets", "dead-letter its own message", _publish("alliance.dead-letters", "tickets")),
    # (an event type nobody subscribes to: the message must not reach a service's handler)
    ("registry", "publish its own events", _publish("registry.events", "no_subscriber_event")),
    ("operator", "call a service's method", _publish("nameko-rpc", "registry.list_districts")),
    *(("gateway", f"call a {service} method", _publish("nameko-rpc", f"{service}.any_method")) for service in SERVICES),
    ("gateway", "declare and bind its reply queue", _reply_queue(GATEWAY_REPLY_QUEUE, REPLY_KEY)),
    (
        "gateway",
        "consume its reply queue",
        _then(_reply_queue(GATEWAY_REPLY_QUEUE, REPLY_KEY), _get(GATEWAY_REPLY_QUEUE)),
    ),
    ("operator", "read a service's dead letters", _get("alliance.dead-letters.tickets")),
]

REFUSED = [
    *(
        (caller, f"call {target}, which it was not granted", _publish("nameko-rpc", f"{target}.any_method"))
        for caller in SERVICES
        for target in SERVICES
        if target != caller
    ),
    ("tickets", "declare another service's rpc queue", _declare("rpc-registry", RPC_QUEUE)),
    ("tickets", "declare another service's handler queue", _declare("evt-registry-merchant_registered--events.h")),
    ("tickets", "consume another service's rpc queue", _get("rpc-registry")),
    (
        "tickets",
        "bind its queue to another service's calls",
        _bind("rpc-tickets", "nameko-rpc", "registry.*", RPC_QUEUE),
    ),
    ("tickets", "bind its queue to every call", _bind("rpc-tickets", "nameko-rpc", "#", RPC_QUEUE)),
    ("tickets", "publish another service's events", _publish("registry.events", "merchant_registered")),
    (
        "tickets",
        "subscribe to an event type it has no handler for",
        _bind("evt-registry-no_such_event--tickets.handle_it", "registry.events", "no_such_event"),
    ),
    ("tickets", "retry another service's handler", _publish("alliance.retry", "1000ms.evt-a-b--events.handle_it")),
    *(
        (service, "use the retry exchange without handlers", _publish("alliance.retry", f"1000ms.evt-a-b--{service}.h"))
        for service in SERVICES
        if service not in DEFINITIONS.SUBSCRIPTIONS
    ),
    ("notifications", "read another service's dead letters", _get("alliance.dead-letters.tickets")),
    ("tickets", "dead-letter into another service's queue", _publish("alliance.dead-letters", "notifications")),
    ("tickets", "put a message into any queue by name", _publish("", "evt-registry-merchant_registered--events.h")),
    ("operator", "declare a service's rpc queue", _declare("rpc-registry", RPC_QUEUE)),
    # The gateway passes calls on and takes their replies: nothing else.
    ("gateway", "answer a call (publish an RPC reply)", _publish("nameko-rpc", str(uuid.uuid4()))),
    ("gateway", "call the gateway itself", _publish("nameko-rpc", "gateway.any_method")),
    ("gateway", "declare a service's rpc queue", _declare("rpc-registry", RPC_QUEUE)),
    ("gateway", "consume a service's rpc queue", _get("rpc-tickets")),
    ("gateway", "declare another caller's reply queue", _reply_queue(f"rpc.reply-tickets-{uuid.uuid4()}", "x")),
    ("gateway", "bind its reply queue to a service's calls", _reply_queue(GATEWAY_REPLY_QUEUE, "tickets.*")),
    ("gateway", "bind its reply queue to every call", _reply_queue(GATEWAY_REPLY_QUEUE, "#")),
    ("gateway", "publish an event", _publish("registry.events", "no_subscriber_event")),
    ("gateway", "subscribe to events", _bind("evt-registry-merchant_registered--gateway.h", "registry.events", "#")),
    ("gateway", "retry a handler's message", _publish("alliance.retry", f"1000ms.{HANDLER_QUEUE}")),
    ("gateway", "read dead letters", _get("alliance.dead-letters.tickets")),
    ("gateway", "put a message into any queue by name", _publish("", "rpc-tickets")),
]


@pytest.mark.parametrize(("user", "action"), [(u, f) for u, _, f in ALLOWED], ids=[f"{u}: {d}" for u, d, _ in ALLOWED])
def test_a_user_may_do_what_its_service_needs(broker, user, action):
    connection = _connect(broker, user)
    try:
        action(connection.channel())
    finally:
        connection.close()


@pytest.mark.parametrize(("user", "action"), [(u, f) for u, _, f in REFUSED], ids=[f"{u}: {d}" for u, d, _ in REFUSED])
def test_a_user_is_refused_what_it_has_no_right_to(broker, user, action):
    connection = _connect(broker, user)
    try:
        with pytest.raises(amqp.exceptions.AccessRefused):
            action(connection.channel())
    finally:
        connection.close()


@pytest.mark.parametrize("vhost", [DEFINITIONS.VHOST, "/"])
def test_guest_cannot_log_in(broker, vhost):
    with pytest.raises(amqp.exceptions.AccessRefused):
        _connect(broker, "guest", vhost)
    assert (
        requests.get(f"http://{broker.host}:{broker.management_port}/api/whoami", auth=("guest", "guest")).status_code
        == 401
    )


def test_every_service_runs_under_its_own_user(broker, container_factory, fresh_database, admin_token):
    containers = {}
    for name in installed_services():
        config = {
            **load_config(name),
            "AMQP_URI": broker.uri(name),
            "WEB_SERVER_ADDRESS": "127.0.0.1:0",
            "EVENT_RETRY_DELAYS_MS": [50, 100],
            "OUTBOX_POLL_INTERVAL": 0.05,
        }
        if config.get("DATABASE_URL"):  # not the gateway: it has no database of its own
            config["DATABASE_URL"] = fresh_database(name)
        containers[name] = container_factory(service_class(name), config)
        containers[name].start()
    for name, container in containers.items():
        status, report = get_json(f"http://127.0.0.1:{http_port(container)}/health/ready")
        assert status == 200, (name, report)

    # The gateway passes an HTTP call on under its own broker user and gets the answer back.
    response = requests.get(
        f"http://127.0.0.1:{http_port(containers['gateway'])}/v1/districts",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert response.status_code == 200 and response.json(), response.text
    tickets_db = containers["tickets"].config["DATABASE_URL"]

    # The operator loads demo data through the registry, which answers on its own queue and
    # announces each merchant on its own exchange; tickets consumes the events from its queues.
    with AllianceClient(broker.uri("operator"), admin_token, timeout=10) as alliance:
        demo_data.load(alliance, per_district=1)
    registry_db = containers["registry"].config["DATABASE_URL"]
    merchants = {row["id"] for row in query(registry_db, "SELECT id::text FROM merchants")}
    assert merchants
    wait_until(
        lambda: (
            {row["merchant_id"] for row in query(tickets_db, "SELECT merchant_id::text FROM merchant_directory")}
            == merchants
        ),
        message="tickets to consume the registry's merchant events",
    )

    # A retried message takes the delay queue and comes back to its handler, as the platform's
    # FailureRouter sends it.
    envelope = example_envelopes("registry", "merchant_registered")[0]
    with kombu.Connection(broker.uri("tickets")) as conn:
        conn.Producer().publish(
            json.dumps(envelope),
            exchange="alliance.retry",
            routing_key=f"50ms.{HANDLER_QUEUE}",
            content_type="application/json",
            headers={ATTEMPTS: 1},
            retry=False,
        )
    wait_until(
        lambda: query(tickets_db, "SELECT 1 FROM processed_events WHERE event_id = %s", (envelope["event_id"],)),
        message="the retried event to come back to tickets",
    )
    assert not [letter for letter in list_dead_letters(broker.uri("operator"), "tickets") if letter.event_id]

    queues = {q["name"]: q for q in broker.api("GET", f"queues/{DEFINITIONS.VHOST}")}
    rpc_queues = [name for name in queues if name.startswith("rpc-")]
    assert "rpc-registry" in rpc_queues
    # The platform declares the types (alliance_platform/messaging.py), not a vhost default:
    # handler, retry and dead-letter queues quorum with their delivery limit and at-least-once dead
    # letters; RPC request and reply queues classic and transient.
    handler = queues[HANDLER_QUEUE]
    assert handler["type"] == "quorum" and handler["durable"]
    assert handler["arguments"]["x-delivery-limit"] == DEFINITIONS.DELIVERY_LIMIT
    assert handler["arguments"]["x-dead-letter-exchange"] == "alliance.dead-letters"
    assert handler["arguments"]["x-dead-letter-routing-key"] == "tickets"
    assert handler["arguments"]["x-dead-letter-strategy"] == "at-least-once"
    assert handler["arguments"]["x-overflow"] == "reject-publish"
    assert {queues[name]["type"] for name in queues if name.startswith("alliance.retry.")} == {"quorum"}
    assert queues["alliance.dead-letters.tickets"]["type"] == "quorum"
    replies = [name for name in queues if name.startswith("rpc.reply-")]
    assert replies and {(queues[n]["type"], queues[n]["durable"], queues[n]["exclusive"]) for n in replies} == {
        ("classic", False, True)
    }
    assert {(queues[name]["type"], queues[name]["durable"]) for name in rpc_queues} == {("classic", False)}
    # The management plugin reports a queue's policy with its statistics, every 5 s.
    wait_until(
        lambda: (
            broker.api("GET", f"queues/{DEFINITIONS.VHOST}/{HANDLER_QUEUE}").get("policy")
            == "alliance-dead-letters-tickets"
        ),
        timeout=15,
        interval=0.5,
        message="the dead-letter policy on the handler queue",
    )


def test_a_message_whose_consumers_keep_dying_goes_to_the_dead_letters(broker):
    """A consumer that dies holding a message returns it unacked; past the delivery limit the
    broker moves it to the service's dead letters instead of handing it out forever."""
    probe = "evt-registry-merchant_registered--tickets.poison_probe"
    tickets = _connect(broker, "tickets")
    try:
        channel = tickets.channel()
        # Declared as the platform declares a handler queue (quorum, its delivery limit).
        channel.queue_declare(probe, durable=True, auto_delete=False, arguments=handler_queue_arguments("tickets"))
        channel.queue_bind(probe, "registry.events", "merchant_registered")
        # As tickets itself declares and binds its dead letters (not left to an earlier test's services).
        channel.queue_declare(
            "alliance.dead-letters.tickets", durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"}
        )
        channel.queue_bind("alliance.dead-letters.tickets", "alliance.dead-letters", "tickets")
        _publish("registry.events", "merchant_registered")(_connect(broker, "registry").channel())
        deliveries = 0
        while (message := channel.basic_get(probe)) is not None:
            deliveries += 1
            channel.basic_reject(message.delivery_tag, requeue=True)
            assert deliveries <= DEFINITIONS.DELIVERY_LIMIT + 1
    finally:
        tickets.close()
    assert deliveries == DEFINITIONS.DELIVERY_LIMIT + 1
    operator = _connect(broker, "operator")
    try:
        channel = operator.channel()
        dead = wait_until(lambda: channel.basic_get("alliance.dead-letters.tickets"), message="the dead letter")
        assert dead.headers["x-death"][0]["reason"] == "delivery_limit"
        assert dead.headers["x-death"][0]["queue"] == probe
        channel.basic_ack(dead.delivery_tag)
    finally:
        operator.close()


def test_a_granted_call_is_allowed_and_nothing_more(broker):
    """A service that gains an RPC call gets it by one line in RPC_CALLS: loaded through the
    management API (as on Kubernetes) into a vhost of its own, tickets may call exactly the
    registry method it was granted."""
    vhost = "alliance-grant-check"
    grants = {**DEFINITIONS.RPC_CALLS, "tickets": ["registry.get_merchant"]}
    document = DEFINITIONS.generate(vhost=vhost, rpc_calls=grants)
    del document["users"]  # the users exist; their passwords stay as they are
    broker.api("POST", "definitions", json=document)
    admin = kombu.Connection(broker.uri(DEFINITIONS.ADMIN, vhost))
    kombu.Exchange("nameko-rpc", type="topic", durable=True)(admin.default_channel).declare()
    admin.release()
    _publish("nameko-rpc", "registry.get_merchant")(_connect(broker, "tickets", vhost).channel())
    with pytest.raises(amqp.exceptions.AccessRefused):
        _publish("nameko-rpc", "registry.register_merchant")(_connect(broker, "tickets", vhost).channel())


# The tables behind the definitions --------------------------------------------------------------


def test_the_committed_definitions_are_generated_from_the_tables():
    committed = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    assert committed == DEFINITIONS.generate(), "run: .venv/bin/python deploy/rabbitmq/definitions.py"
    assert all(user["password_hash"] == "" for user in committed["users"]), "no password belongs in the repository"


def _rpc_calls_in_code(service):
    """("target", "method") of every RPC call in a service's package: calls on a ServiceRpc
    dependency, or on a name that follows the convention ``<service>_rpc``."""
    folder = Path(inspect.getfile(service_class(service))).parent
    assert folder.name == service_package(service)
    proxies = {f"{target}_rpc": target for target in SERVICES}
    trees = [ast.parse(path.read_text()) for path in sorted(folder.rglob("*.py"))]
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if getattr(func, "id", getattr(func, "attr", None)) == "ServiceRpc":
                for target in node.targets:
                    proxies[getattr(target, "id", getattr(target, "attr", None))] = node.value.args[0].value
    calls = set()
    # A method of a proxy, called or handed on (``send=self.notifications_rpc.send``).
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Attribute) and node.attr != "call_async":
            proxy = node.value
            name = getattr(proxy, "id", getattr(proxy, "attr", None))
            if name in proxies:
                calls.add((proxies[name], node.attr))
    return calls


@pytest.mark.parametrize("service", SERVICES)
def test_the_rpc_table_lists_exactly_the_calls_each_service_makes(service):
    granted = {tuple(call.split(".", 1)) for call in DEFINITIONS.RPC_CALLS[service]}
    assert granted == _rpc_calls_in_code(service), f"update grants.RPC_CALLS[{service!r}]"


def test_the_subscription_table_lists_exactly_the_event_handlers():
    in_code = {}
    for service in installed_services():
        for _, method in inspect.getmembers(service_class(service), lambda m: hasattr(m, "handles")):
            source, event_type = method.handles
            in_code.setdefault(service, {}).setdefault(source, set()).add(event_type)
    table = {s: {source: set(types) for source, types in subs.items()} for s, subs in DEFINITIONS.SUBSCRIPTIONS.items()}
    assert table == in_code, "update SUBSCRIPTIONS in deploy/rabbitmq/definitions.py"
    assert set(installed_services()) == {*SERVICES, *FRONT_DOORS}


def test_the_gateway_may_call_exactly_the_methods_it_serves():
    """Its grants are the routed methods: ``service.*`` while every method of a service has a
    route, the routed methods by name otherwise. It calls only what operations() serves."""
    served = {}
    for op in operations():
        served.setdefault(op.service, set()).add(op.method)
    expected = set()
    for service, methods in served.items():
        rpc_methods = {
            name
            for name, member in inspect.getmembers(service_class(service))
            if any(isinstance(e, Rpc) for e in getattr(member, "nameko_entrypoints", ()))
        }
        assert methods <= rpc_methods
        expected |= {f"{service}.*"} if methods == rpc_methods else {f"{service}.{m}" for m in methods}
    assert set(DEFINITIONS.RPC_CALLS["gateway"]) == expected, "update grants.RPC_CALLS['gateway']"
    assert "gateway" not in DEFINITIONS.SUBSCRIPTIONS


def test_rendering_refuses_a_missing_or_short_password(tmp_path, capsys):
    users = [user["name"] for user in DEFINITIONS.generate()["users"]]
    write_broker_passwords(tmp_path, users)
    (tmp_path / "broker_tickets_password").unlink()
    assert DEFINITIONS.main(["--passwords", str(tmp_path), "--out", str(tmp_path / "out.json")]) == 2
    assert "no password for broker user tickets" in capsys.readouterr().err
    (tmp_path / "broker_tickets_password").write_text("short\n")
    assert DEFINITIONS.main(["--passwords", str(tmp_path), "--out", str(tmp_path / "out.json")]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()
