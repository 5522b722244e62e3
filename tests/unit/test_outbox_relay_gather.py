"""The outbox relay gathers only when commits came while it was publishing.

Between passes the relay either waits ``OUTBOX_GATHER_SECONDS`` for more commits (commits came
while it published several events: they come faster than a pass takes), goes again at once (they
came while it published one: it keeps up), or waits for the next commit and publishes it at once. The
notifications of commits made before a pass — the one that woke it, those that came during a
gather — are read by that pass's drain and must not count as commits made while it drained:
otherwise a stream that each pass keeps up with waits a gather on every pass.
"""

from types import SimpleNamespace

import pytest

from alliance_platform.outbox import relay as relay_module
from alliance_platform.outbox.relay import OutboxRelay


class _Listening:
    """The relay's database connection as far as notifications go: ``notifies()`` yields what has
    arrived, and returns when nothing more has (as psycopg's does once its timeout is spent)."""

    def __init__(self):
        self.arrived = []
        self.waits = []  # the timeout of every wait for a commit

    def notifies(self, timeout=None, stop_after=None):
        if timeout:
            self.waits.append(timeout)
        received = 0
        while self.arrived and (stop_after is None or received < stop_after):
            received += 1
            yield self.arrived.pop(0)

    def commit_notifies(self, count=1):
        self.arrived.extend(["outbox"] * count)


@pytest.fixture
def relay(monkeypatch):
    container = SimpleNamespace(service_name="probe")
    relay = OutboxRelay(
        "probe",
        {"DATABASE_URL": "postgresql://unused", "AMQP_URI": "amqp://unused", "OUTBOX_GATHER_SECONDS": 0.005},
        container,
    )
    relay._db = _Listening()
    relay._hold_lease = lambda: True
    relay.gathers = []
    monkeypatch.setattr(relay_module.eventlet, "sleep", relay.gathers.append)
    return relay


def _one_pass(relay, commits_while_draining=0, published=1):
    def drain():
        relay._db.commit_notifies(commits_while_draining)
        return published

    relay.drain = drain
    relay._turn()
    relay._pause()


def test_commits_notified_before_the_pass_do_not_make_it_gather(relay):
    relay._db.commit_notifies(3)  # the one that woke it, two more that came during a gather
    _one_pass(relay)
    assert relay.gathers == []
    assert relay._db.waits == [relay.poll_interval]  # back to waiting for a commit


def test_commits_made_while_it_drained_several_events_make_it_gather(relay):
    relay._db.commit_notifies(1)
    _one_pass(relay, commits_while_draining=2, published=3)
    assert relay.gathers == [0.005]
    assert relay._db.waits == []


def test_a_commit_made_while_it_drained_one_event_is_drained_at_once(relay):
    # The pass keeps up with the commits: no gather, no wait; the next pass goes straight away.
    relay._db.commit_notifies(1)
    _one_pass(relay, commits_while_draining=1, published=1)
    assert relay.gathers == []
    assert relay._db.waits == []


def test_a_stream_each_pass_keeps_up_with_never_gathers(relay):
    # Every commit lands while the relay waits: each pass is woken by one and drains it alone.
    for _ in range(5):
        relay._db.commit_notifies(1)
        _one_pass(relay)
    assert relay.gathers == []


def test_after_a_gather_the_commits_it_gathered_do_not_make_it_gather_again(relay):
    _one_pass(relay, commits_while_draining=1, published=2)
    assert relay.gathers == [0.005]
    relay._db.commit_notifies(2)  # arrived during the gather; the next drain reads them
    _one_pass(relay, published=3)
    assert relay.gathers == [0.005]
