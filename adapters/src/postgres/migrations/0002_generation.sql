-- Version 2: records carry their delivery generation (the fencing token of the lease that wrote
-- them), so a stale worker's late write never replaces a newer owner's record.
ALTER TABLE results ADD COLUMN generation bigint NOT NULL DEFAULT 0;
