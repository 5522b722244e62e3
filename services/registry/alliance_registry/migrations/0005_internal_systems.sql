-- Internal systems acting for people through delegation (domain/systems.py,
-- docs/contract/DELEGATION.md). Their id is the dlg claim of every token they obtain.
CREATE TABLE internal_systems (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                  text NOT NULL,
    grants                text[] NOT NULL CHECK (cardinality(grants) > 0),
    kinds                 text[] NOT NULL CHECK (cardinality(kinds) > 0 AND kinds <@ ARRAY['merchant', 'staff']),
    districts             text[] NOT NULL CHECK (cardinality(districts) > 0),
    max_ttl               integer NOT NULL CHECK (max_ttl > 0),
    -- SHA-256 of the credential (a 256-bit random secret shown once): never the credential itself.
    credential_digest     bytea NOT NULL UNIQUE,
    credential_issued_at  timestamptz NOT NULL,
    registered_at         timestamptz NOT NULL,
    registered_by         text NOT NULL,
    revoked_at            timestamptz,
    revoked_by            text,
    revoked_reason        text,
    CHECK (num_nulls(revoked_at, revoked_by, revoked_reason) IN (0, 3))
);
-- A name belongs to one standing system; a revoked one's name may be registered again (a new id).
CREATE UNIQUE INDEX internal_systems_standing_name ON internal_systems (name) WHERE revoked_at IS NULL;
