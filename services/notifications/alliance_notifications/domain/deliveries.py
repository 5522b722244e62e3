"""A delivery: one message to one recipient on one channel, and the states it goes through.

- The inbox is stored here, not sent: its delivery is ``sent`` when it is written.
- A delivery on a channel that sends is ``pending`` until it is due (now, after the quiet hours,
  or at the digest time). The sender's answer makes it ``sent``; ``failed``, due again after
  backoff; or ``dead`` after the last attempt or a refusal.
- ``batched``: carried by a digest (its ``digest_id``); it ends as the digest ends.
- An operator sends a failed or dead delivery again, with fresh attempts; a dead digest takes its
  messages back. Inbox deliveries have nothing to send again.

Exactly one delivery exists per (event, recipient, channel), whatever is redelivered.
"""

from alliance_contracts.notifications import CHANNELS as SENDING
from alliance_platform.errors import Conflict

INBOX = "inbox"
CHANNELS = (INBOX, *SENDING)  # SENDING: the channels that leave the service (the contract's)
ROBOTS = ("wecom", "dingtalk")  # group robots: staff groups are reached on these only

PENDING, FAILED, SENT, DEAD, BATCHED = "pending", "failed", "sent", "dead", "batched"
STATUSES = (PENDING, FAILED, SENT, DEAD, BATCHED)
DUE = (PENDING, FAILED)  # what the sender claims once ``due_at`` has come
RETRYABLE = (FAILED, DEAD)  # what an operator may send again
FINAL = (SENT, DEAD)  # the ends announced by notification_delivered / notification_failed


def after_answer(answer, attempts, now, backoff):
    """(status, due_at) once the provider answered the ``attempts``-th attempt."""
    if answer.ok:
        return SENT, now
    return backoff.after_failure(attempts, now, answer.permanent)


def check_retry(delivery):
    """Refuse to send ``delivery`` again unless it failed or died (a ``Conflict``)."""
    if delivery["channel"] == INBOX:
        raise Conflict("inbox messages are stored, not sent: there is nothing to retry")
    if delivery["status"] not in RETRYABLE:
        raise Conflict(f"delivery {delivery['id']} is {delivery['status']}: only failed or dead deliveries are retried")
