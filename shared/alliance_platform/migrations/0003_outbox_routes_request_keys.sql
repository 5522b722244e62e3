-- An event no queue was bound for is published all the same: the broker had nobody to give it to.
-- It is marked so, counted, and never retried (see docs/ARCHITECTURE.md, "Outbox").
ALTER TABLE outbox ADD COLUMN unrouted boolean NOT NULL DEFAULT false;

-- A caller's own request id (idempotency key) is kept with a fingerprint of the call it named, so
-- the same id with other arguments is refused instead of answered with another call's result.
ALTER TABLE rpc_requests ADD COLUMN fingerprint text;
