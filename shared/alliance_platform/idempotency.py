"""The two tables that keep work from being done twice, and the only SQL that touches them.

- ``processed_events`` (the idempotent consumer): ``(handler, event_id)`` claimed by a handler's
  first statement, in the transaction of its effect; a redelivered event finds its row.
- ``command_answers`` (stored answers of commands): the reply of a command under its request key,
  with a fingerprint of the call, deferred into the command's commit; a repeated request is
  answered from it (``entrypoints.Command``).

Both are purged by ``housekeeping`` after their retention.
"""

PROCESSED_EVENTS = "processed_events"
COMMAND_ANSWERS = "command_answers"
COMMAND_ANSWERS_KEY = "command_answers_pkey"  # the constraint a repeated command's commit meets

_CLAIM = "INSERT INTO processed_events (handler, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1"
_LOOK_UP = "SELECT result, fingerprint FROM command_answers WHERE request_id = %s"
_STORE = "INSERT INTO command_answers (request_id, method, fingerprint, result) VALUES (%s, %s, %s, %s::jsonb)"


def claim_event(session, handler, event_id):
    """Record that ``handler`` processes ``event_id``; False if it already did (a redelivery)."""
    return session.fetchone(_CLAIM, (handler, event_id)) is not None


def stored_answer(session, request_key):
    """The stored answer (``result``, ``fingerprint``) of a command, read within the transaction."""
    return session.fetchone(_LOOK_UP, (request_key,))


def stored_answer_alone(session, request_key):
    """The same, after this attempt's transaction is given up: the answer was another's commit."""
    return session.run_alone(_LOOK_UP, (request_key,))


def store_answer(session, request_key, method, fingerprint, serialized_result):
    """Defer the answer into the command's commit (a concurrent twin then fails on the key)."""
    session.defer(_STORE, (request_key, method, fingerprint, serialized_result))
