"""RabbitMQ definitions of the alliance: its vhost, one user per service (the gateway included),
least-privilege permissions and the policies of its queues. Standard library only: it runs under
any Python 3.11.

    python deploy/rabbitmq/definitions.py
        rewrite definitions.json from the tables below (no passwords: nobody can log in with it);
    python deploy/rabbitmq/definitions.py --passwords DIR --out FILE
        copy definitions.json to FILE with each user's password hash, the password read from
        DIR/broker_<user>_password — what the broker loads at start (compose: the job
        broker-definitions; Kubernetes: see deploy/README.md).

The permissions follow the names nameko and the platform give to what they declare: the RPC
exchange ``nameko-rpc`` (topic, routing key ``<service>.<method>``, replies routed by a uuid),
queues ``rpc-<service>`` and ``rpc.reply-<caller>-<uuid>``, event exchanges ``<service>.events``
(routing key = event type), handler queues ``evt-<source>-<event_type>--<service>.<method>``, the
retry exchanges ``alliance.retry`` / ``alliance.retry.return``, delay queues
``alliance.retry.<ms>ms`` and dead-letter queues ``alliance.dead-letters.<service>``.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "definitions.json"

VHOST = "alliance"

# The services, the front doors and who may call which RPC methods (RPC_CALLS) are the platform's
# table, shared/alliance_platform/grants.py: the receiving services check the same grants. It is
# loaded by path (this script needs nothing installed): beside this file in the repository, else
# from the installed alliance_platform package (the image's broker-definitions job).


def _load_grants():
    import importlib.util

    candidates = [HERE.parents[1] / "shared" / "alliance_platform" / "grants.py"]
    installed = importlib.util.find_spec("alliance_platform")
    if installed is not None and installed.submodule_search_locations:
        candidates += [Path(location) / "grants.py" for location in installed.submodule_search_locations]
    for path in candidates:
        if path.is_file():
            spec = importlib.util.spec_from_file_location("alliance_grants", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise SystemExit(f"alliance_platform/grants.py not found (looked at {[str(p) for p in candidates]})")


_GRANTS = _load_grants()
SERVICES = _GRANTS.SERVICES
FRONT_DOORS = _GRANTS.FRONT_DOORS
RPC_CALLS = _GRANTS.RPC_CALLS

# Which events each service consumes: service -> {source service: [event_type, ...]}, as its
# event_handler(source, event_type) entrypoints say (checked against the code like RPC_CALLS).
# Every service (the platform's handler, alliance_platform/delegation.py) hears system_access_revoked.
SUBSCRIPTIONS = {
    "registry": {
        "events": ["evaluation_closed", "checked_in", "no_shows_recorded", "meeting_held"],
        "tickets": ["ticket_closed"],
        "registry": ["system_access_revoked"],
    },
    "tickets": {
        "registry": [
            "merchant_registered",
            "merchant_updated",
            "merchant_status_changed",
            "person_registered",
            "person_updated",
            "pairing_started",
            "pairing_ended",
            "organisation_added",
            "organisation_renamed",
            "organisation_moved",
            "organisation_retired",
            "organisation_liaisons_changed",
            "system_access_revoked",
        ],
        "notifications": ["notification_delivered", "notification_failed"],
    },
    "events": {"registry": ["system_access_revoked"]},
    "notifications": {
        "tickets": [
            "ticket_submitted",
            "ticket_assigned",
            "ticket_status_changed",
            "ticket_resolved",
            "ticket_closed",
            "ticket_reopened",
            "follow_up_call_scheduled",
            "ticket_due_soon",
            "ticket_overdue",
            "ticket_escalated",
            "follow_up_call_recorded",
            "ticket_supervised",
            "supervision_reminded",
            "supervision_lifted",
            "ticket_merged",
            "document_received",
            "document_returned",
            "ticket_referred",
        ],
        "events": [
            "activity_published",
            "activity_updated",
            "activity_cancelled",
            "registration_confirmed",
            "registration_waitlisted",
            "registration_promoted",
            "registration_cancelled",
            "seat_offered",
            "offer_accepted",
            "offer_declined",
            "offer_expired",
            "activity_reminder_due",
            "meeting_planned",
            "meeting_cancelled",
            "branch_meeting_overdue",
        ],
        "registry": [
            "party_member_registered",
            "honour_awarded",
            "floating_member_transfer_due",
            "floating_member_transfer_started",
            "floating_member_transferred_in",
            "floating_member_transfer_declined",
            "points_recorded",
            "organisation_added",
            "organisation_liaisons_changed",
            "organisation_retired",
            "system_access_revoked",
        ],
    },
}

# A message the broker has handed out this many times without an ack (its consumer died or was
# stopped while holding it, again and again) goes to the service's dead letters instead of
# looping; failures inside a handler are retried and dead-lettered by the platform long before.
# The platform declares its handler queues with the same limit and dead-lettering as arguments
# (alliance_platform/messaging.py, DELIVERY_LIMIT); the policy below keeps it for a handler queue
# declared by an earlier release without them (used as it is: deploy/README.md, "Queue types").
DELIVERY_LIMIT = 20

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
METHOD = "[a-z_][a-z0-9_]*"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ADMIN = "admin"


def _lit(name):
    """A resource name as a regex literal (names here only contain [a-z0-9_.-])."""
    return name.replace(".", r"\.")


def _only(*alternatives):
    return "^(" + "|".join(alternatives) + ")$" if alternatives else "^$"


def _rpc_key(call):
    service, _, method = call.partition(".")
    if service not in SERVICES or not (method == "*" or NAME.match(method)):
        raise ValueError(f"RPC grant {call!r} must read service.method or service.* (services: {SERVICES})")
    return f"{_lit(service)}\\.{METHOD if method == '*' else method}"


def _handler_queue(service):
    return rf"evt-[a-z_]+-[a-z0-9_]+--{_lit(service)}\.{METHOD}"


def _service_access(service, calls, sources):
    reply = rf"rpc\.reply-{_lit(service)}-{UUID}"
    own = ["nameko-rpc", f"rpc-{service}", reply, _lit(f"{service}.events")]
    configure, write, read = [*own], [*own], ["nameko-rpc", f"rpc-{service}", reply]
    topics = [
        {
            "exchange": "nameko-rpc",
            # Calls it may make, and replies (routed by the caller's reply uuid).
            "write": _only(*(_rpc_key(c) for c in calls), UUID),
            # Bindings: its own methods, its own reply queues — never another service's calls.
            "read": _only(rf"{_lit(service)}\.\*", UUID),
        }
    ]
    if sources:
        queue = _handler_queue(service)
        source_exchanges = [_lit(f"{source}.events") for source in sources]
        retry = [r"alliance\.retry", r"alliance\.retry\.return", r"alliance\.retry\.[0-9]+ms"]
        # nameko declares the source's exchange before binding to it, hence configure on it.
        dead_letters = [r"alliance\.dead-letters", _lit(f"alliance.dead-letters.{service}")]
        configure += [*source_exchanges, queue, *retry, *dead_letters]
        # A queue declared with a dead-letter exchange (the delay queues) needs read on the queue
        # and write on that exchange; topic permissions keep anyone from publishing to it.
        write += [queue, *retry, *dead_letters]
        read += [*source_exchanges, queue, *retry, r"alliance\.dead-letters"]
        topics += [
            # Dead letters only into its own queue (routing key: the service's name).
            {"exchange": "alliance.dead-letters", "write": _only(_lit(service)), "read": _only(_lit(service))},
            # Retries only of its own handlers' messages; delay queues bound by delay.
            {"exchange": "alliance.retry", "write": _only(rf"[0-9]+ms\.{queue}"), "read": _only(r"[0-9]+ms\.#")},
            {"exchange": "alliance.retry.return", "write": _only(), "read": _only(rf"\*\.{queue}")},
        ]
        # Another service's events: bind to the types it handles, publish none. Its own exchange
        # (the registry hears its own system_access_revoked): publish any of its events as before.
        topics += [
            {"exchange": f"{source}.events", "write": ".*" if source == service else _only(), "read": _only(*types)}
            for source, types in sorted(sources.items())
        ]
    return {"configure": _only(*configure), "write": _only(*write), "read": _only(*read)}, topics


def _front_door_access(name, calls):
    """Publish the calls it may make, declare, bind and consume its own reply queues: nothing else."""
    reply = rf"rpc\.reply-{_lit(name)}-{UUID}"
    access = _only("nameko-rpc", reply)
    permissions = {"configure": access, "write": access, "read": access}
    # It answers no call (no reply routing keys to write) and binds nothing but its replies.
    topics = [{"exchange": "nameko-rpc", "write": _only(*(_rpc_key(c) for c in calls)), "read": _only(UUID)}]
    return permissions, topics


def _client_access(calls):
    reply = rf"rpc\.reply-standalone_rpc_proxy-{UUID}"
    dead_letters = r"alliance\.dead-letters\.(" + "|".join(SERVICES) + ")"
    permissions = {
        "configure": _only("nameko-rpc", reply, dead_letters),
        # amq.default: `alliance dead-letters replay` sends a message back to its handler's queue.
        "write": _only("nameko-rpc", reply, r"amq\.default"),
        "read": _only("nameko-rpc", reply, dead_letters),
    }
    topics = [{"exchange": "nameko-rpc", "write": _only(*(_rpc_key(c) for c in calls), UUID), "read": _only(UUID)}]
    return permissions, topics


def _dead_letter_policy(vhost, service):
    return {
        "vhost": vhost,
        "name": f"alliance-dead-letters-{service}",
        "pattern": f"^{_handler_queue(service)}$",
        "apply-to": "queues",
        "priority": 10,
        "definition": {
            "delivery-limit": DELIVERY_LIMIT,
            "dead-letter-exchange": "alliance.dead-letters",
            "dead-letter-routing-key": service,
            # The message leaves its queue only once its dead-letter queue has it (quorum queues;
            # at-least-once dead-lettering requires the reject-publish overflow behaviour).
            "dead-letter-strategy": "at-least-once",
            "overflow": "reject-publish",
        },
    }


def generate(vhost=VHOST, rpc_calls=None, subscriptions=None):
    """The definitions document (users without passwords) for the given access tables."""
    rpc_calls = RPC_CALLS if rpc_calls is None else rpc_calls
    subscriptions = SUBSCRIPTIONS if subscriptions is None else subscriptions
    unknown = (set(subscriptions) | {s for subs in subscriptions.values() for s in subs}) - set(SERVICES)
    if unknown or not {*SERVICES, *FRONT_DOORS} <= set(rpc_calls):
        raise ValueError(f"the tables must name the services {SERVICES + FRONT_DOORS}; unknown: {sorted(unknown)}")
    users, permissions, topic_permissions = [], [], []
    for user, calls in rpc_calls.items():
        if user in SERVICES:
            access, topics = _service_access(user, calls, subscriptions.get(user, {}))
        elif user in FRONT_DOORS:
            access, topics = _front_door_access(user, calls)
        else:
            access, topics = _client_access(calls)
        users.append({"name": user, "password_hash": "", "tags": []})
        permissions.append({"user": user, "vhost": vhost, **access})
        topic_permissions += [{"user": user, "vhost": vhost, **topic} for topic in topics]
    users.append({"name": ADMIN, "password_hash": "", "tags": ["administrator"]})
    permissions.append({"user": ADMIN, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    for user in users:
        user["hashing_algorithm"] = "rabbit_password_hashing_sha256"
    return {
        "users": users,
        "vhosts": [
            {
                "name": vhost,
                # No default queue type: the platform declares each queue's type itself
                # (alliance_platform/messaging.py): handler, retry and dead-letter queues quorum,
                # RPC request and reply queues classic and transient.
                "metadata": {"description": "Red Star Debai alliance platform"},
            }
        ],
        # The dead-letter exchange exists from boot: the delivery-limit policy below sends to it.
        "exchanges": [
            {
                "name": "alliance.dead-letters",
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "policies": [_dead_letter_policy(vhost, service) for service in SERVICES],
    }


def password_hash(password, salt=None):
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def with_passwords(definitions, secrets_dir):
    """``definitions`` with every user's password hash, from ``secrets_dir/broker_<user>_password``."""
    filled = json.loads(json.dumps(definitions))
    for user in filled["users"]:
        path = Path(secrets_dir) / f"broker_{user['name']}_password"
        try:
            password = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"no password for broker user {user['name']}: {exc}") from exc
        if len(password) < 16:
            raise ValueError(f"{path}: a broker password needs at least 16 characters")
        user["password_hash"] = password_hash(password)
    return filled


def dump(definitions):
    return json.dumps(definitions, indent=2, ensure_ascii=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passwords", metavar="DIR", help="directory of broker_<user>_password files")
    parser.add_argument("--out", metavar="FILE", help="where to write the definitions with password hashes")
    args = parser.parse_args(argv)
    if bool(args.passwords) != bool(args.out):
        parser.error("--passwords and --out go together")
    if not args.passwords:
        TEMPLATE.write_text(dump(generate()))
        print(f"wrote {TEMPLATE}")
        return 0
    try:
        filled = with_passwords(json.loads(TEMPLATE.read_text()), args.passwords)
    except ValueError as exc:
        print(f"definitions: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(filled))
    # The broker runs as another user; the hashes of random passwords are not worth hiding from it.
    out.chmod(0o644)
    print(f"wrote {out} ({len(filled['users'])} users)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
