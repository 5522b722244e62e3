-- Escalation chains (domain/escalation.py): the steps of an unread inbox message, one row each,
-- written with the message (scheduled) and decided by the ``escalate`` timer: sent (the delivery
-- it made on its channel), skipped_read (read first: the chain stopped), skipped_unreachable (the
-- channel cannot reach the recipient, or carried the message already). The contact the step needs
-- (role, mobile, district) is kept from the fan-out, so the timer does not ask the registry.
CREATE TABLE escalations (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id           bigint           NOT NULL REFERENCES deliveries (id),  -- the inbox message
    step                  integer          NOT NULL,                              -- 1, 2, ...
    channel               text             NOT NULL CHECK (channel IN ('sms', 'email', 'wecom', 'dingtalk')),
    after_working_minutes double precision NOT NULL,
    due_at                timestamptz      NOT NULL,
    status                text             NOT NULL
        CHECK (status IN ('scheduled', 'sent', 'skipped_read', 'skipped_unreachable')),
    role                  text             NOT NULL,
    mobile                text,
    district              text,
    sent_delivery_id      bigint,                                                 -- deliveries (id) it made
    detail                text,
    decided_at            timestamptz,
    created_at            timestamptz      NOT NULL,
    UNIQUE (delivery_id, step)
);
CREATE INDEX escalations_due ON escalations (due_at) WHERE status = 'scheduled';
