-- The demand list: tickets, their timeline, reference numbers, and the read model they route by.

-- People and pairings from the registry's events (the merchant directory is in 0001).
CREATE TABLE people_directory (
    person_id   text PRIMARY KEY,
    name        text   NOT NULL,
    district_id text,
    roles       text[] NOT NULL DEFAULT '{}',
    skills      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX people_directory_roles ON people_directory USING gin (roles);
CREATE INDEX people_directory_skills ON people_directory USING gin (skills);

CREATE TABLE pairing_directory (
    pairing_id  uuid PRIMARY KEY,
    member_id   text    NOT NULL,
    merchant_id uuid    NOT NULL,
    active      boolean NOT NULL
);
CREATE INDEX pairing_directory_merchant ON pairing_directory (merchant_id) WHERE active;

-- DM-<year>-<number>: sequential per year, numbers never reused.
CREATE TABLE reference_counters (
    year integer PRIMARY KEY,
    last integer NOT NULL
);

CREATE TABLE tickets (
    id                    uuid PRIMARY KEY,
    reference             text        NOT NULL UNIQUE,
    parent_id             uuid REFERENCES tickets (id),
    merchant_id           uuid        NOT NULL,
    district_id           text        NOT NULL,
    requester_id          text        NOT NULL,
    category              text        NOT NULL,
    handling_mode         text        NOT NULL,
    title                 text        NOT NULL,
    description           text        NOT NULL,
    attachments           jsonb       NOT NULL DEFAULT '[]',
    status                text        NOT NULL,
    style                 text        NOT NULL,  -- assistance style the routing chose
    team                  text,                  -- team it is routed to (when no single person)
    proposed_id           text,                  -- person routing proposed
    responsible_id        text,                  -- who accepted it: the owner (首接负责制)
    unit                  text,                  -- for child tasks: the unit or district asked
    checklist             jsonb       NOT NULL DEFAULT '[]',
    partner               text,                  -- department or bank referred to
    partner_reply         text,
    resolution            text,
    rating                smallint CHECK (rating BETWEEN 1 AND 5),
    reopen_count          integer     NOT NULL DEFAULT 0,
    refusal_reason        text,
    submitted_at          timestamptz NOT NULL,
    accepted_at           timestamptz,
    resolved_at           timestamptz,
    closed_at             timestamptz,
    first_response_due_at timestamptz NOT NULL,
    resolution_due_at     timestamptz NOT NULL,
    sla_paused_at         timestamptz,
    due_soon_sent         text[]      NOT NULL DEFAULT '{}',  -- SLA targets already warned about
    overdue_sent          text[]      NOT NULL DEFAULT '{}',
    escalation_level      smallint    NOT NULL DEFAULT 0,
    resolved_on_time      boolean
);
CREATE INDEX tickets_by_merchant ON tickets (merchant_id, submitted_at DESC, id DESC);
CREATE INDEX tickets_by_responsible ON tickets (responsible_id, submitted_at DESC, id DESC);
CREATE INDEX tickets_by_district ON tickets (district_id, submitted_at DESC, id DESC);
CREATE INDEX tickets_by_proposed ON tickets (proposed_id, submitted_at DESC, id DESC) WHERE proposed_id IS NOT NULL;
CREATE INDEX tickets_children ON tickets (parent_id) WHERE parent_id IS NOT NULL;
-- The SLA sweep reads only tickets whose clock can still run out.
CREATE INDEX tickets_open_deadlines ON tickets (resolution_due_at)
    WHERE status IN ('submitted', 'accepted', 'in_progress', 'referred');
CREATE INDEX tickets_resolved_at ON tickets (resolved_at) WHERE status = 'resolved';

CREATE TABLE timeline (
    id          bigserial PRIMARY KEY,
    ticket_id   uuid        NOT NULL REFERENCES tickets (id),
    at          timestamptz NOT NULL,
    actor       text,
    kind        text        NOT NULL,  -- transition, note, reassignment, sla_paused, sla_resumed, ...
    visible_to_merchant boolean NOT NULL,
    from_status text,
    to_status   text,
    text        text,
    data        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX timeline_by_ticket ON timeline (ticket_id, id);

CREATE INDEX merchant_directory_district ON merchant_directory (district_id);
