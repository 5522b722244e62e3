-- Party members' points (党员积分, domain/points.py): a ledger whose entries are never edited nor
-- deleted (a trigger refuses both); a correction is a new entry naming the one it corrects. The
-- branch and its district are those of the member when the entry was made: a member who moves
-- keeps the points earned elsewhere, and the old branch's ranking keeps them too.
CREATE TABLE points_entries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq              bigserial NOT NULL UNIQUE,  -- the ledger's order (a member's history pages by it)
    person_id        uuid NOT NULL REFERENCES party_members (person_id),
    points           integer NOT NULL CHECK (points <> 0),
    kind             text NOT NULL CHECK (kind IN ('award', 'manual', 'correction')),
    rule             text,
    source           text NOT NULL,
    source_event_id  text,
    source_entity_id text,
    reason           text NOT NULL,
    branch_id        text NOT NULL REFERENCES organisations (id),
    district_id      text NOT NULL,
    corrects_id      uuid REFERENCES points_entries (id),
    created_at       timestamptz NOT NULL,
    actor            text NOT NULL,
    -- A rule rewards a member once per thing (rule:entity:member), however often it is announced.
    award_key        text UNIQUE,
    CHECK ((kind = 'award') = (award_key IS NOT NULL)),
    CHECK ((kind = 'correction') = (corrects_id IS NOT NULL))
);
CREATE INDEX points_entries_person ON points_entries (person_id, seq);
CREATE INDEX points_entries_branch ON points_entries (branch_id, created_at);
CREATE INDEX points_entries_district ON points_entries (district_id, created_at);

CREATE FUNCTION points_entries_unchangeable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points entries are never changed nor deleted: record a correction';
END;
$$;
CREATE TRIGGER points_entries_unchangeable BEFORE UPDATE OR DELETE ON points_entries
    FOR EACH ROW EXECUTE FUNCTION points_entries_unchangeable();
