-- Read model of the registry's organisations (organisation_* events, kept by version): the partner
-- departments, banks and institutions routing rules (style partner) and referrals (partner_id)
-- name, with their current name, status and liaisons. The seeded organisations of the registry's
-- first migration (the alliance, its branches) are never announced and need not be: no rule or
-- referral names them.
CREATE TABLE organisation_directory (
    organisation_id text    PRIMARY KEY,
    type            text    NOT NULL,
    name            text    NOT NULL,
    short_name      text    NOT NULL,
    status          text    NOT NULL,
    liaison_ids     text[]  NOT NULL DEFAULT '{}',
    version         integer NOT NULL
);

-- The partner organisation a ticket was referred or routed to (its name, shown, is the directory's
-- current one); ``partner`` keeps the name as it was then, or a partner named in free text.
ALTER TABLE tickets ADD COLUMN partner_id text;
