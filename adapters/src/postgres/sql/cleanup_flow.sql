WITH u AS (DELETE FROM flow_uniques WHERE expires_at <= $1),
     s AS (DELETE FROM flow_slots WHERE expires_at <= $1),
     d AS (DELETE FROM flow_debounce WHERE NOT open AND taken_at > 0
           AND taken_at <= $1 - 604800000)
DELETE FROM flow_buckets WHERE updated_at <= $1 - 3600000
