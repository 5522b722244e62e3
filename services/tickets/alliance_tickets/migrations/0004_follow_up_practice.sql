-- The demand desk's follow-up practice: follow-up calls (回访) and their outcomes, supervision
-- (督办), duplicates merged into a survivor, and the custody log of assisted handling (帮办).

-- A merged duplicate is closed with this reason and points to the demand that goes on.
ALTER TABLE tickets ADD COLUMN merged_into uuid REFERENCES tickets (id);
-- The due date of the supervision the ticket is under now (NULL: none); the rows are below.
ALTER TABLE tickets ADD COLUMN supervision_due_at timestamptz;

-- A follow-up call owed to the merchant: for a poor rating, or a closed demand drawn by the sample.
CREATE TABLE follow_up_calls (
    id           uuid PRIMARY KEY,
    ticket_id    uuid        NOT NULL REFERENCES tickets (id),
    reason       text        NOT NULL,  -- poor_rating | sample
    rating       smallint,
    call_by_id   text,                  -- the person named to call (NULL: the district's staff group)
    due_at       timestamptz NOT NULL,  -- in working time of the centre's calendar
    scheduled_at timestamptz NOT NULL,
    outcome      text,                  -- solved | not_solved | unreachable; NULL while owed
    note         text,
    recorded_by  text,
    recorded_at  timestamptz
);
CREATE INDEX follow_up_calls_by_ticket ON follow_up_calls (ticket_id, scheduled_at);
-- One call owed per ticket at a time.
CREATE UNIQUE INDEX follow_up_calls_one_owed ON follow_up_calls (ticket_id) WHERE outcome IS NULL;

-- Supervision (督办) by a district leader: placed, reminded in working time, lifted.
CREATE TABLE supervisions (
    id               uuid PRIMARY KEY,
    ticket_id        uuid        NOT NULL REFERENCES tickets (id),
    supervisor_id    text        NOT NULL,
    reason           text        NOT NULL,
    placed_at        timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    next_reminder_at timestamptz NOT NULL,
    reminders_sent   integer     NOT NULL DEFAULT 0,
    lifted_at        timestamptz,
    lifted_because   text                   -- resolved | closed | rejected | cancelled | merged
);
CREATE INDEX supervisions_by_ticket ON supervisions (ticket_id);
CREATE UNIQUE INDEX supervisions_one_open ON supervisions (ticket_id) WHERE lifted_at IS NULL;
CREATE INDEX supervisions_reminders ON supervisions (next_reminder_at) WHERE lifted_at IS NULL;

-- Documents the centre holds for the merchant while it handles a matter on its behalf (帮办).
-- Never deleted: the log outlives the ticket's closing.
CREATE TABLE custody_items (
    id            uuid PRIMARY KEY,
    ticket_id     uuid        NOT NULL REFERENCES tickets (id),
    merchant_id   uuid        NOT NULL,
    document      text        NOT NULL,
    received_from text        NOT NULL,
    received_at   timestamptz NOT NULL,
    received_by   text        NOT NULL,
    location      text        NOT NULL,
    moved_at      timestamptz,
    returned_at   timestamptz,
    returned_to   text,
    returned_by   text,
    confirmed_at  timestamptz,
    confirmed_by  text
);
CREATE INDEX custody_items_by_ticket ON custody_items (ticket_id, received_at);
