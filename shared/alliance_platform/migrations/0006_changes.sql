-- Who changed what (alliance_platform/audit.py): one row per command, event handled or timer run
-- that changed something, written in the same transaction as the change.
CREATE TABLE changes (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL,          -- the service's clock when it was made
    service         text        NOT NULL,
    command         text        NOT NULL,          -- the RPC method, event handler or timer
    acted_by        text        NOT NULL,          -- kind:subject, system:<name>, event:<source>.<type>
    on_behalf_of    text,                          -- kind:subject of the person a system acted for
    correlation_id  text        NOT NULL,
    request_id      text,                          -- the caller's own request id, if it gave one
    entities        text[]      NOT NULL DEFAULT '{}',  -- "merchant:<id>", "ticket:<id>", ...
    summary         jsonb       NOT NULL DEFAULT '{}'   -- the input, bounded, without secrets
);
CREATE INDEX changes_entities ON changes USING gin (entities);
CREATE INDEX changes_at ON changes (at, id);
