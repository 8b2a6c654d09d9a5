-- Fair dequeue across keys (docs/fairness.md), run after schema.sql once `stem_tasks` has its
-- fair_key and fair_vt columns. Within a priority, unkeyed tasks (fair_vt 0) come first, oldest
-- first, then keyed ones by virtual start: vt = max(the key's last vt, the queue's clock) + step
-- (1,000,000 / weight), given at publish; a fetch that leases keyed rows raises the clock to the
-- largest vt it leased, in its transaction. A release keeps the task's key and vt.

-- Fetch order: highest priority, then unkeyed before keyed, then virtual start, then oldest,
-- among ready tasks. (Replaces the pre-fairness `stem_tasks_ready`.)
DROP INDEX IF EXISTS stem_tasks_ready;
CREATE INDEX IF NOT EXISTS stem_tasks_fair_ready
    ON stem_tasks (ns, queue, state, priority DESC, fair_vt, id);

-- The latest vt given to a key of a queue; pruned once at or below the queue's clock.
CREATE TABLE IF NOT EXISTS stem_fair_keys (
    ns      TEXT    NOT NULL,
    queue   TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    last_vt INTEGER NOT NULL,
    PRIMARY KEY (ns, queue, key)
) WITHOUT ROWID;

-- Per queue: the largest vt of any keyed task fetched so far (only grows).
CREATE TABLE IF NOT EXISTS stem_fair_clocks (
    ns     TEXT    NOT NULL,
    queue  TEXT    NOT NULL,
    vt     INTEGER NOT NULL,
    PRIMARY KEY (ns, queue)
) WITHOUT ROWID;
