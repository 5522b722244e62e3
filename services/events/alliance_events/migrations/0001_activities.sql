-- Activities run jointly by the three districts, their registrations, evaluations and points.

CREATE TABLE series (
    id         uuid PRIMARY KEY,
    title      text        NOT NULL,
    rule       jsonb       NOT NULL,  -- weekdays and last date the dates were generated from
    created_at timestamptz NOT NULL
);

CREATE TABLE activities (
    id                    uuid PRIMARY KEY,
    series_id             uuid REFERENCES series (id),
    title                 text        NOT NULL,
    type                  text        NOT NULL,
    description           text        NOT NULL,
    organisers            text[]      NOT NULL,  -- districts or organisations hosting it jointly
    partners              text[]      NOT NULL DEFAULT '{}',
    venue                 text        NOT NULL,
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL,
    registration_opens_at timestamptz NOT NULL,
    registration_closes_at timestamptz NOT NULL,
    capacity              integer     NOT NULL CHECK (capacity >= 0),
    quotas                jsonb       NOT NULL DEFAULT '{}',  -- district -> seats
    audience              jsonb       NOT NULL,  -- {"kinds": [...], "districts": [...]}
    theme_tags            text[]      NOT NULL DEFAULT '{}',
    status                text        NOT NULL,
    cancel_reason         text,
    clash_override        text,       -- why it was published despite a clash
    created_by            text        NOT NULL,
    created_at            timestamptz NOT NULL,
    published_at          timestamptz,
    completed_at          timestamptz,
    reminders_sent        text[]      NOT NULL DEFAULT '{}',  -- '24h', '2h'
    -- evaluations (评选)
    evaluation_kind       text,
    evaluation_year       integer,
    evaluation_winners    integer,
    evaluation_stars      integer,
    voter_roles           text[],
    voting_opens_at       timestamptz,
    voting_closes_at      timestamptz,
    evaluation_closed_at  timestamptz,
    CHECK (ends_at > starts_at),
    CHECK (registration_closes_at > registration_opens_at)
);
CREATE INDEX activities_starts_at ON activities (starts_at, id);
CREATE INDEX activities_promotions ON activities (starts_at, ends_at) WHERE type = 'themed_promotion';
CREATE INDEX activities_organisers ON activities USING gin (organisers);

CREATE TABLE registrations (
    id            uuid PRIMARY KEY,
    activity_id   uuid        NOT NULL REFERENCES activities (id),
    person_id     text        NOT NULL,
    merchant_id   uuid,
    district_id   text        NOT NULL,
    child_name    text,
    child_age     smallint,
    status        text        NOT NULL,
    position      bigint,     -- order on the waiting list
    check_in_code text        NOT NULL,
    registered_at timestamptz NOT NULL,
    confirmed_at  timestamptz,
    checked_in_at timestamptz,
    cancelled_at  timestamptz,
    UNIQUE (activity_id, check_in_code)
);
-- One live registration per person per activity (per child, for tutoring).
CREATE UNIQUE INDEX registrations_once ON registrations (activity_id, person_id, coalesce(child_name, ''))
    WHERE status <> 'cancelled';
CREATE INDEX registrations_waiting ON registrations (activity_id, position) WHERE status = 'waitlisted';
CREATE INDEX registrations_by_person ON registrations (person_id, registered_at DESC);
CREATE INDEX registrations_by_merchant ON registrations (merchant_id, registered_at DESC) WHERE merchant_id IS NOT NULL;

CREATE TABLE nominations (
    activity_id  uuid        NOT NULL REFERENCES activities (id),
    merchant_id  uuid        NOT NULL,
    nominated_by text        NOT NULL,
    reason       text        NOT NULL,
    nominated_at timestamptz NOT NULL,
    PRIMARY KEY (activity_id, merchant_id)
);

CREATE TABLE votes (
    activity_id uuid        NOT NULL,
    merchant_id uuid        NOT NULL,
    voter_id    text        NOT NULL,
    voted_at    timestamptz NOT NULL,
    PRIMARY KEY (activity_id, merchant_id, voter_id),
    FOREIGN KEY (activity_id, merchant_id) REFERENCES nominations (activity_id, merchant_id)
);

CREATE TABLE points (
    id          bigserial PRIMARY KEY,
    activity_id uuid        NOT NULL REFERENCES activities (id),
    person_id   text        NOT NULL,
    merchant_id uuid,
    points      integer     NOT NULL,
    awarded_at  timestamptz NOT NULL,
    UNIQUE (activity_id, person_id)
);
CREATE INDEX points_by_person ON points (person_id);
CREATE INDEX points_by_merchant ON points (merchant_id) WHERE merchant_id IS NOT NULL;
