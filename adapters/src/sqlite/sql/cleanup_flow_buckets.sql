-- A bucket idle for an hour is full again: forget it.
DELETE FROM stem_flow_buckets WHERE updated_at <= ?1 - 3600000
