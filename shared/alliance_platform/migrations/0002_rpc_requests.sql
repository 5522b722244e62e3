-- Commands already carried out, by the RPC request that asked for them: when the broker
-- redelivers a request (the connection dropped before the reply went out), the stored answer is
-- sent again instead of doing the work twice.
CREATE TABLE rpc_requests (
    request_id  text PRIMARY KEY,
    method      text        NOT NULL,
    result      jsonb,
    handled_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rpc_requests_handled_at ON rpc_requests (handled_at);
CREATE INDEX inbox_processed_at ON inbox (processed_at);
