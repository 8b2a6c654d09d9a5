WITH u AS (DELETE FROM flow_uniques WHERE expires_at <= $1),
     s AS (DELETE FROM flow_slots WHERE expires_at <= $1)
DELETE FROM flow_buckets WHERE updated_at <= $1 - 3600000
