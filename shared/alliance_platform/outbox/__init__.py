"""The transactional outbox: events recorded in the transaction of the change they announce
(``writer``), published afterwards, in order per aggregate, by the service's relay (``relay``).
Table ``outbox`` (platform migrations); the reasons and the limits are in docs/ARCHITECTURE.md."""

# PostgreSQL notification channel: a commit that recorded events wakes the relay of every instance.
CHANNEL = "alliance_outbox"
