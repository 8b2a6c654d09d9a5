-- The cursor for "only new events": the highest sequence number of any namespace.
SELECT COALESCE(MAX(seq), 0) FROM stem_events
