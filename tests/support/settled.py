"""When the system has nothing left to do with what happened: every event each service committed
is published, every handler subscribed to it has recorded it (its id in that handler's inbox
table, in the same transaction as its effect) and no notification waits to be resolved. Only then
can a test count what people received and say "exactly once"."""

from alliance_platform.config import installed_services, service_class
from tests.support.helpers import query, wait_until


def subscribers():
    """(source, event_type) -> the inbox handler names of every service subscribed to it."""
    found = {}
    for name in installed_services():
        service = service_class(name)
        for attribute in dir(service):
            handles = getattr(getattr(service, attribute), "handles", None)
            if handles is not None:
                found.setdefault(handles, []).append((name, f"{service.name}.{attribute}"))
    return found


def unsettled(databases, consumers=None):
    """What is still under way, in words (an empty list when nothing is); ``databases`` by service."""
    consumers = subscribers() if consumers is None else consumers
    pending = []
    for source, url in databases.items():
        rows = query(url, "SELECT event_id, event_type, published_at FROM outbox")
        waiting = [row["event_type"] for row in rows if row["published_at"] is None]
        if waiting:
            pending.append(f"{source}: {len(waiting)} events unpublished ({', '.join(sorted(set(waiting)))})")
        wanted = {}
        for row in rows:
            for consumer, handler in consumers.get((source, row["event_type"]), ()):
                wanted.setdefault(consumer, set()).add((handler, row["event_id"]))
        for consumer, pairs in wanted.items():
            done = query(
                databases[consumer],
                "SELECT handler, event_id FROM processed_events WHERE event_id = ANY(%s)",
                ([event_id for _, event_id in pairs],),
            )
            missing = pairs - {(row["handler"], row["event_id"]) for row in done}
            if missing:
                handlers = sorted({handler for handler, _ in missing})
                pending.append(f"{source} -> {consumer}: {len(missing)} events not handled ({', '.join(handlers)})")
    if "notifications" in databases:
        [row] = query(databases["notifications"], "SELECT count(*) AS n FROM notifications WHERE status = 'resolving'")
        if row["n"]:
            pending.append(f"notifications: {row['n']} audiences still being resolved")
    return pending


def wait_settled(databases, timeout=60.0):
    """Wait until ``unsettled(databases)`` is empty; the failure names what was still under way."""
    consumers = subscribers()
    last = []

    def settled():
        last[:] = unsettled(databases, consumers)
        return not last

    try:
        wait_until(settled, timeout=timeout, interval=0.1, message="every event published and handled")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {'; '.join(last)}") from None
