-- Seats kept as counters on the activity's row, which registration locks anyway: deciding a
-- registration reads one row instead of counting the registrations under the lock.
ALTER TABLE activities
    ADD COLUMN confirmed_count integer NOT NULL DEFAULT 0,
    ADD COLUMN confirmed_by_district jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN waiting_count integer NOT NULL DEFAULT 0,
    ADD COLUMN waitlist_last bigint NOT NULL DEFAULT 0;
