-- Signing in to the staff console by one-time code (domain/sign_in.py).

-- The current code of each mobile asked for: a new one replaces it. Only its keyed hash is kept.
-- person_id is NULL when the mobile is nobody's who may sign in: such a code is made and kept
-- like any other (so sign_in answers alike) but never sent.
CREATE TABLE sign_in_codes (
    mobile      text PRIMARY KEY,
    person_id   uuid REFERENCES people (id),
    code_digest bytea NOT NULL,
    salt        bytea NOT NULL,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    tries       integer NOT NULL DEFAULT 0 CHECK (tries >= 0),
    used_at     timestamptz
);
CREATE INDEX sign_in_codes_expires ON sign_in_codes (expires_at);

-- Every code sent, by mobile and by client (the address the HTTP gateway saw): the rate limits
-- count them here, so they hold across the registry's instances. Purged once no window needs them.
CREATE TABLE sign_in_requests (
    id     bigserial PRIMARY KEY,
    mobile text NOT NULL,
    client text,
    at     timestamptz NOT NULL
);
CREATE INDEX sign_in_requests_mobile ON sign_in_requests (mobile, at);
CREATE INDEX sign_in_requests_client ON sign_in_requests (client, at) WHERE client IS NOT NULL;
CREATE INDEX sign_in_requests_at ON sign_in_requests (at);
