-- Delegations an administrator revoked (alliance_platform/delegation.py): every service keeps the
-- list in its own database, fed by the registry's system_access_revoked events, and refuses the
-- tokens obtained under any of them. A few rows a year: kept for good (a revoked registration
-- never comes back; a system registered again gets a new id).
CREATE TABLE revoked_delegations (
    delegation_id text PRIMARY KEY,
    revoked_at    timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
