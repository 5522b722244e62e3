-- Check-in that survives a venue without network: a device downloads a roster (the codes' HMACs
-- under a key of the roster, never the codes), checks in offline, and uploads its scans later.

-- The key each activity's or meeting's roster hashes its codes with (made at the first download).
CREATE TABLE check_in_rosters (
    target_kind text        NOT NULL CHECK (target_kind IN ('activity', 'meeting')),
    target_id   uuid        NOT NULL,
    hash_key    text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (target_kind, target_id)
);

-- Which device downloaded which roster, when first and last, and the version it last got.
CREATE TABLE check_in_downloads (
    target_kind      text        NOT NULL,
    target_id        uuid        NOT NULL,
    device_id        text        NOT NULL,
    version          text        NOT NULL,
    downloaded_by    text        NOT NULL,
    first_downloaded timestamptz NOT NULL,
    last_downloaded  timestamptz NOT NULL,
    PRIMARY KEY (target_kind, target_id, device_id),
    FOREIGN KEY (target_kind, target_id) REFERENCES check_in_rosters (target_kind, target_id)
);

-- Every scan uploaded, once (its nonce), with what it came to: checked_in (this scan checked the
-- holder in), already_checked_in, conflict (checked in through another door first) or rejected
-- (with the reason). ``holder``: the registration id (activity) or person id (meeting) the code is.
CREATE TABLE check_in_scans (
    nonce       uuid PRIMARY KEY,
    target_kind text        NOT NULL,
    target_id   uuid        NOT NULL,
    device_id   text        NOT NULL,
    door        text        NOT NULL,
    holder      text,
    person_id   text,
    scanned_at  timestamptz NOT NULL,
    uploaded_at timestamptz NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('checked_in', 'already_checked_in', 'conflict', 'rejected')),
    reason      text,       -- why rejected; for a conflict, the door and time of the check-in
    CHECK ((outcome = 'checked_in') = (reason IS NULL))
);
CREATE INDEX check_in_scans_target ON check_in_scans (target_kind, target_id, outcome, scanned_at);
-- The one scan that checked a holder in (attendance once, however many devices scanned the code).
CREATE UNIQUE INDEX check_in_scans_once ON check_in_scans (target_kind, target_id, holder) WHERE outcome = 'checked_in';

-- One points system: the registry's ledger (points_entries). The participation points events once
-- kept are no longer written; the rows stay as they were, read by nobody.
COMMENT ON TABLE points IS 'frozen: no longer written; points are the registry''s ledger (points_entries)';
