-- Upserts a record, fenced by generation: an existing live record is replaced only by one whose
-- generation (the first field of the record JSON) is no smaller. ?6 now (ms), ?7 the generation.
-- Changes 1 row when written, 0 when a newer record stands.
INSERT INTO stem_results (ns, id, state, record, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (ns, id) DO UPDATE
SET state = excluded.state, record = excluded.record, expires_at = excluded.expires_at
WHERE stem_results.expires_at <= ?6
   OR coalesce(json_extract(stem_results.record, '$.generation'), 0) <= ?7
