-- The newest event's cursor (0 when there are none).
SELECT coalesce(max(seq), 0) AS head FROM events
