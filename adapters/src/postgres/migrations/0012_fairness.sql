-- Version 12: fair dequeue across keys within a queue (docs/fairness.md, "Fair dequeue").
-- A task may carry a fairness key; within one priority band, tasks without one come first (as
-- today, oldest first), then keyed tasks by their virtual start `fair_vt` (start-time fair
-- queueing). Publish gives a keyed task vt = max(last_vt of its key, the queue's clock) + step
-- (step = 1,000,000 / weight) and stores the new last_vt in `fair_keys`; a fetch raises the
-- queue's clock in `fair_clocks` to the largest vt it leased, in the same statement. Unkeyed
-- rows keep fair_vt 0, so they sort first within their priority and cost nothing extra: an
-- unkeyed publish runs the same statement as before, and a fetch that leases no keyed row
-- touches no clock row. The fetch stays one index-ordered scan: the fetch index gains
-- fair_vt between priority and eta. A released task keeps its row, so its key and vt.
-- `fair_keys` rows with last_vt <= the clock change nothing and are pruned by the clean-up.

ALTER TABLE tasks ADD COLUMN fair_key text;
ALTER TABLE tasks ADD COLUMN fair_vt bigint NOT NULL DEFAULT 0;

DROP INDEX tasks_fetch;
CREATE INDEX tasks_fetch ON tasks (queue, priority DESC, fair_vt, eta, id);

-- The latest vt given to a key of a queue.
CREATE TABLE fair_keys (
    queue   text   NOT NULL,
    key     text   NOT NULL,
    last_vt bigint NOT NULL,
    PRIMARY KEY (queue, key)
);

-- Per queue: the largest vt of any keyed task fetched so far (only grows).
CREATE TABLE fair_clocks (
    queue text   PRIMARY KEY,
    vt    bigint NOT NULL
);
