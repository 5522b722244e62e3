-- Branch life (三会一课): a Party branch's meetings, their invitees' attendance, and the periods of
-- the rhythm each branch's secretary was told it missed (told once per period).

CREATE TABLE meetings (
    id                  uuid PRIMARY KEY,
    branch_id           text        NOT NULL,  -- a party_branch organisation of the registry
    district_id         text,                  -- the branch's district, as the registry had it
    kind                text        NOT NULL,
    title               text        NOT NULL,
    place               text        NOT NULL,
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    agenda              text[]      NOT NULL,
    status              text        NOT NULL,
    planned_by          text        NOT NULL,
    planned_at          timestamptz NOT NULL,
    held_at             timestamptz,
    minutes             text,
    decisions           text[],
    minutes_recorded_by text,
    minutes_recorded_at timestamptz,
    cancel_reason       text,
    cancelled_at        timestamptz,
    CHECK (ends_at > starts_at)
);
CREATE INDEX meetings_by_start ON meetings (starts_at DESC, id DESC);
-- A branch's last meeting held of each kind (the rhythm's look-up).
CREATE INDEX meetings_held ON meetings (branch_id, kind, starts_at DESC) WHERE status = 'held';

CREATE TABLE meeting_attendees (
    meeting_id    uuid        NOT NULL REFERENCES meetings (id),
    person_id     text        NOT NULL,
    status        text        NOT NULL,  -- invited, attended, excused, absent
    check_in_code text        NOT NULL,
    checked_in_at timestamptz,
    reason        text,                  -- why excused
    PRIMARY KEY (meeting_id, person_id),
    UNIQUE (meeting_id, check_in_code)
);

CREATE TABLE meeting_overdue_notices (
    branch_id     text        NOT NULL,
    kind          text        NOT NULL,
    missed_period date        NOT NULL,  -- the first day of the period without a meeting
    noticed_at    timestamptz NOT NULL,
    PRIMARY KEY (branch_id, kind, missed_period)
);
