"""The two tables that keep work from being done twice, and the only SQL that touches them.

- ``processed_events`` (the idempotent consumer): ``(handler, event_id)`` claimed first in the
  transaction of the handler's effect; a redelivered event finds its row. The claim is deferred
  (``defer_claim``): it runs right after ``BEGIN``, ahead of the handler's first statement and in
  that statement's round trip (or the commit's); a duplicate fails it on the key, and the handler
  with it, before anything else of the run is done (``is_duplicate_claim``).
- ``command_answers`` (stored answers of commands): the reply of a command under its request key,
  with a fingerprint of the call, deferred into the command's commit; a repeated request is
  answered from it (``entrypoints.Command``).

Both are purged by ``housekeeping`` after their retention.
"""

import psycopg.errors

PROCESSED_EVENTS = "processed_events"
PROCESSED_EVENTS_KEY = "processed_events_pkey"  # the constraint a duplicate's deferred claim meets
COMMAND_ANSWERS = "command_answers"
COMMAND_ANSWERS_KEY = "command_answers_pkey"  # the constraint a repeated command's commit meets

_CLAIM = "INSERT INTO processed_events (handler, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1"
_CLAIM_OR_FAIL = "INSERT INTO processed_events (handler, event_id) VALUES (%s, %s)"
_CLAIMED = "SELECT 1 AS claimed FROM processed_events WHERE handler = %s AND event_id = %s"
_LOOK_UP = "SELECT result, fingerprint FROM command_answers WHERE request_id = %s"
_STORE = "INSERT INTO command_answers (request_id, method, fingerprint, result) VALUES (%s, %s, %s, %s::jsonb)"


def claim_event(session, handler, event_id):
    """Record that ``handler`` processes ``event_id``; False if it already did (a redelivery)."""
    return session.fetchone(_CLAIM, (handler, event_id)) is not None


def defer_claim(session, handler, event_id):
    """Claim ``event_id`` for ``handler`` with the session's next round trip. Deferred before
    anything else, it runs right after ``BEGIN``: a concurrent twin waits on it and then fails on the
    key. For a duplicate the statement that carried it (or the commit) fails with a unique violation
    of ``processed_events_pkey``, and the transaction rolls back whole (``is_duplicate_claim``)."""
    session.defer(_CLAIM_OR_FAIL, (handler, event_id))


def is_duplicate_claim(exc):
    """Whether ``exc`` (or what it was raised from) is a deferred claim meeting an earlier one."""
    for error in (exc, getattr(exc, "__cause__", None)):
        if isinstance(error, psycopg.errors.UniqueViolation) and error.diag.constraint_name == PROCESSED_EVENTS_KEY:
            return True
    return False


def claimed_before(session, handler, event_id):
    """Whether a committed run claimed ``event_id`` for ``handler`` (read alone, after this attempt's
    transaction is given up): for a run that failed otherwise — its claim unsent, or swallowed."""
    return session.run_alone(_CLAIMED, (handler, event_id)) is not None


def stored_answer(session, request_key):
    """The stored answer (``result``, ``fingerprint``) of a command, read within the transaction."""
    return session.fetchone(_LOOK_UP, (request_key,))


def stored_answer_alone(session, request_key):
    """The same, after this attempt's transaction is given up: the answer was another's commit."""
    return session.run_alone(_LOOK_UP, (request_key,))


def store_answer(session, request_key, method, fingerprint, serialized_result):
    """Defer the answer into the command's commit (a concurrent twin then fails on the key)."""
    session.defer(_STORE, (request_key, method, fingerprint, serialized_result))
