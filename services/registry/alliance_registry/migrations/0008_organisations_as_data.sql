-- Organisations as data (组织联建): an administrator adds, renames, moves (re-parents) and retires
-- them, and names their liaisons (people of the register who are the organisation's contacts). The
-- seed rows of 0001 become ordinary rows with a short name, a status and a version; every change
-- is kept in organisation_history (before and after, who, when), which is never edited nor deleted.

ALTER TABLE organisations
    ADD COLUMN short_name     text,
    ADD COLUMN status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    ADD COLUMN version        integer NOT NULL DEFAULT 1,
    ADD COLUMN created_at     timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at     timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN retired_at     timestamptz,
    ADD COLUMN retired_reason text,
    ADD CONSTRAINT organisations_retired_at CHECK ((status = 'retired') = (retired_at IS NOT NULL)),
    ADD CONSTRAINT organisations_not_own_parent CHECK (parent_id IS DISTINCT FROM id);

UPDATE organisations SET short_name = CASE id
    WHEN 'songguantun_committee' THEN '宋官屯街道党工委'
    WHEN 'debai_group' THEN '德百集团'
    WHEN 'alliance' THEN '商圈党建联盟'
    WHEN 'branch_wholesale_city' THEN '批发城党支部'
    WHEN 'branch_aodele' THEN '澳德乐党支部'
    WHEN 'branch_outlets' THEN '奥莱党支部'
    ELSE name END;
ALTER TABLE organisations ALTER COLUMN short_name SET NOT NULL;
CREATE INDEX organisations_parent ON organisations (parent_id);

-- An organisation's contacts, in the order the administrator gave them.
CREATE TABLE organisation_liaisons (
    organisation_id text     NOT NULL REFERENCES organisations (id),
    person_id       uuid     NOT NULL REFERENCES people (id),
    position        smallint NOT NULL,
    PRIMARY KEY (organisation_id, person_id)
);
CREATE INDEX organisation_liaisons_person ON organisation_liaisons (person_id);

-- One row per version of an organisation: the change, the organisation before (NULL when added)
-- and after, who made it and when.
CREATE TABLE organisation_history (
    id              bigserial PRIMARY KEY,
    organisation_id text        NOT NULL REFERENCES organisations (id),
    version         integer     NOT NULL,
    change          text        NOT NULL,
    before          jsonb,
    after           jsonb       NOT NULL,
    reason          text,
    actor           text        NOT NULL,
    at              timestamptz NOT NULL,
    UNIQUE (organisation_id, version)
);

CREATE FUNCTION organisation_history_unchangeable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an organisation''s history is never changed nor deleted';
END;
$$;
CREATE TRIGGER organisation_history_unchangeable BEFORE UPDATE OR DELETE ON organisation_history
    FOR EACH ROW EXECUTE FUNCTION organisation_history_unchangeable();

-- The seed rows' first version, as if added by the migration.
INSERT INTO organisation_history (organisation_id, version, change, before, after, actor, at)
SELECT id, 1, 'added', NULL,
       jsonb_build_object('organisation_id', id, 'type', type, 'name', name, 'name_en', name_en,
                          'short_name', short_name, 'parent_id', parent_id, 'district_id', district_id,
                          'status', status, 'liaison_ids', '[]'::jsonb),
       'migration:0008', now()
FROM organisations;
