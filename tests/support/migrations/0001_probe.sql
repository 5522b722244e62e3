-- Tables of the probe services that exercise the platform in tests.
CREATE TABLE probe_items (
    id         text PRIMARY KEY,
    aggregate  text NOT NULL,
    seq        integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- One row per handled event: duplicates would show as two rows for one item.
CREATE TABLE probe_effects (
    n          bigserial PRIMARY KEY,
    item_id    text NOT NULL,
    aggregate  text NOT NULL,
    seq        integer NOT NULL,
    event_id   text NOT NULL
);
-- Items whose handling must fail, to drive retries and dead letters.
CREATE TABLE probe_failures (item_id text PRIMARY KEY);
