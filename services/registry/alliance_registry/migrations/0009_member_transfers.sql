-- The floating member's transfer (组织关系转接) as a workflow: started, then completed (the
-- membership moves to the receiving branch) or declined with a reason. At most one open (started)
-- transfer per member; closed ones are kept. A transfer recorded in one step (record_transfer_in)
-- is a row completed on the day it was started.

CREATE TABLE member_transfers (
    id                  uuid        PRIMARY KEY,
    person_id           uuid        NOT NULL REFERENCES party_members (person_id),
    from_branch_id      text        NOT NULL REFERENCES organisations (id),
    to_branch_id        text        NOT NULL REFERENCES organisations (id),
    status              text        NOT NULL CHECK (status IN ('started', 'completed', 'declined')),
    started_on          date        NOT NULL,
    letter_no           text,
    note                text,
    completed_on        date,
    decline_reason      text,
    decline_note        text,
    started_at          timestamptz NOT NULL,
    started_by          text,
    closed_at           timestamptz,
    closed_by           text,
    CHECK ((status = 'completed') = (completed_on IS NOT NULL)),
    CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CHECK ((status = 'started') = (closed_at IS NULL)),
    CHECK (completed_on IS NULL OR completed_on >= started_on)
);
CREATE UNIQUE INDEX member_transfers_one_open ON member_transfers (person_id) WHERE status = 'started';
CREATE INDEX member_transfers_person ON member_transfers (person_id, started_at DESC);
CREATE INDEX member_transfers_to_branch ON member_transfers (to_branch_id, status);
