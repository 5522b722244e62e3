-- Waiting-list offers: a freed seat is offered to the first waiter that fits, for a while, and
-- held for that offer meanwhile. The seats held by offers are counted on the activity's row like
-- the confirmed ones, so that deciding a registration still reads one row.
ALTER TABLE activities
    ADD COLUMN offered_count integer NOT NULL DEFAULT 0,
    ADD COLUMN offered_by_district jsonb NOT NULL DEFAULT '{}';

ALTER TABLE registrations
    ADD COLUMN offered_at       timestamptz,
    ADD COLUMN offer_expires_at timestamptz,
    -- what became of its last offer: accepted, declined, expired, registration_closed
    ADD COLUMN offer_outcome    text;

-- The schedule looks for offers past their time.
CREATE INDEX registrations_offers_due ON registrations (offer_expires_at) WHERE status = 'offered';
