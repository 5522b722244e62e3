-- The two tables that keep work from being done twice, named for what they hold: "inbox" was also
-- the name of the notifications service's in-app inbox, "rpc_requests" held answers, not requests.
ALTER TABLE inbox RENAME TO processed_events;
ALTER INDEX inbox_pkey RENAME TO processed_events_pkey;
ALTER INDEX inbox_processed_at RENAME TO processed_events_processed_at;
ALTER TABLE rpc_requests RENAME TO command_answers;
ALTER INDEX rpc_requests_pkey RENAME TO command_answers_pkey;
ALTER INDEX rpc_requests_handled_at RENAME TO command_answers_handled_at;
