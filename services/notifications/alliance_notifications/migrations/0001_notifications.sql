-- Notifications: what is to be said (once per source event and rule), the deliveries to each
-- recipient on each channel (the in-app inbox is one of them), every attempt at sending, the
-- people's preferences and the channels' rate-limit buckets.

-- One per (source event, rule): the message rendered once per language, and the audience that is
-- still being resolved with the registry (``audience`` holds the steps, ``progress`` where the
-- resolution stands, so a registry outage resumes where it stopped instead of starting again).
CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,  -- the source event; for ``send``, derived from the idempotency key
    source       text        NOT NULL,  -- 'tickets.ticket_submitted', 'send', 'digest'
    rule         text        NOT NULL,
    category     text        NOT NULL,
    urgency      text        NOT NULL CHECK (urgency IN ('urgent', 'normal', 'low')),
    channels     text[],                -- the rule's channels; NULL: each recipient's defaults
    content      jsonb       NOT NULL,  -- language -> {title, body, sms, robot}
    audience     jsonb       NOT NULL,
    progress     jsonb       NOT NULL DEFAULT '{"step": 0, "cursor": null}',
    status       text        NOT NULL CHECK (status IN ('resolving', 'resolved', 'failed')),
    recipients   integer     NOT NULL DEFAULT 0,
    unresolved   integer     NOT NULL DEFAULT 0,  -- recipients the registry did not know: inbox only
    attempts     integer     NOT NULL DEFAULT 0,
    retry_at     timestamptz,
    last_error   text,
    request_hash text,                  -- ``send``: what its idempotency key was first used for
    created_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    UNIQUE (event_id, rule)
);
CREATE INDEX notifications_resolving ON notifications (retry_at) WHERE status = 'resolving';

-- Exactly one per (event, recipient, channel), whatever is redelivered. Recipients are
-- 'merchant:<id>', 'person:<id>' or 'group:<name>' (a staff group's robot). Inbox rows are
-- 'sent' when written; the others wait for ``due_at`` (quiet hours, digest time, backoff).
-- Written by COPY in bulk (a fan-out is thousands of rows), always in the transaction that wrote
-- their notification: no foreign keys here, whose per-row checks doubled the cost of the COPY.
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint      NOT NULL,  -- notifications (id)
    event_id        uuid        NOT NULL,
    recipient       text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('inbox', 'sms', 'email', 'wecom', 'dingtalk')),
    address         text,                 -- mobile, e-mail address, or the robot's group
    mention         text,                 -- robots: the mobile to @-mention in the group
    language        text        NOT NULL,
    urgent          boolean     NOT NULL,
    -- batched: waiting inside a digest; it ends as the digest ends (sent or dead).
    status          text        NOT NULL CHECK (status IN ('pending', 'failed', 'sent', 'dead', 'batched')),
    in_digest       boolean     NOT NULL DEFAULT false,
    due_at          timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    provider_answer text,
    last_error      text,
    digest_id       bigint,                -- deliveries (id) of the digest that carries it
    sent_at         timestamptz,
    read_at         timestamptz,
    created_at      timestamptz NOT NULL,
    UNIQUE (event_id, recipient, channel)
);
-- What the sender claims next, per channel: urgent first, then by due time.
CREATE INDEX deliveries_due ON deliveries (channel, urgent DESC, due_at, id)
    WHERE status IN ('pending', 'failed') AND NOT in_digest;
CREATE INDEX deliveries_digest_due ON deliveries (due_at) WHERE status = 'pending' AND in_digest;
-- A person's inbox (and unread count), and an operator's look at one recipient.
CREATE INDEX deliveries_recipient ON deliveries (recipient, id);
CREATE INDEX deliveries_dead ON deliveries (id) WHERE status = 'dead';
CREATE INDEX deliveries_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL;
-- Rows arrive in time order, so a BRIN index serves the stats' periods at almost no cost to COPY.
CREATE INDEX deliveries_created_at ON deliveries USING brin (created_at);

-- Every attempt at sending and what the provider answered: the operator's trail. ``attempt``
-- starts again at 1 after an operator's retry.
CREATE TABLE delivery_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id bigint      NOT NULL REFERENCES deliveries (id),
    attempt     integer     NOT NULL,
    at          timestamptz NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('sent', 'failed', 'dead')),
    answer      text
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- A person's (or a merchant's) choices; absent: the defaults of their role.
CREATE TABLE preferences (
    recipient   text PRIMARY KEY,
    channels    jsonb       NOT NULL DEFAULT '{}',  -- category or '*' -> channel -> on/off
    quiet_start time,                              -- both NULL: quiet hours from trading hours
    quiet_end   time,
    digest      boolean     NOT NULL DEFAULT false,
    email       text,
    updated_at  timestamptz NOT NULL
);

-- Per-channel token buckets, shared by every instance of the service: the rate limit holds for
-- the whole deployment, not per process.
CREATE TABLE rate_buckets (
    channel     text PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at timestamptz
);
INSERT INTO rate_buckets (channel, tokens) VALUES ('sms', 0), ('email', 0), ('wecom', 0), ('dingtalk', 0);
