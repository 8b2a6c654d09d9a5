-- Stem's tables in one SQLite file. Every row carries its namespace (`ns`), so several
-- namespaces can share a file. Times are epoch milliseconds on the file's clock.

-- The file's clock, one row: leases, etas and expiries are judged on it (see clock.rs). Times
-- below are on this clock.
CREATE TABLE IF NOT EXISTS stem_clock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    now_ms      INTEGER NOT NULL,
    boot_id     TEXT    NOT NULL,
    uptime_ms   INTEGER NOT NULL,
    generation  INTEGER NOT NULL DEFAULT 0
);

-- Tasks of every queue. `state` is 0 ready, 1 delayed (until `visible_at`, the eta) or
-- 2 leased (until `visible_at`, the lease expiry, by `owner` with `token`). `id` gives the
-- publish order.
CREATE TABLE IF NOT EXISTS stem_tasks (
    id          INTEGER PRIMARY KEY,
    ns          TEXT    NOT NULL,
    queue       TEXT    NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 0,
    state       INTEGER NOT NULL DEFAULT 0,
    visible_at  INTEGER NOT NULL DEFAULT 0,
    deliveries  INTEGER NOT NULL DEFAULT 0,
    token       TEXT,
    owner       TEXT,
    payload     TEXT    NOT NULL,
    -- Fair dequeue: the task's fairness key (NULL: none) and virtual start (0 when unkeyed).
    -- Files made before fairness get these columns from `schema_fair.sql`'s caller.
    fair_key    TEXT,
    fair_vt     INTEGER NOT NULL DEFAULT 0
);
-- Delayed tasks falling due and leases running out.
CREATE INDEX IF NOT EXISTS stem_tasks_due ON stem_tasks (ns, queue, state, visible_at);

-- Every queue that ever saw a publish.
CREATE TABLE IF NOT EXISTS stem_queues (
    ns     TEXT NOT NULL,
    queue  TEXT NOT NULL,
    PRIMARY KEY (ns, queue)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stem_dead (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    ns       TEXT    NOT NULL,
    queue    TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    dead_at  INTEGER NOT NULL,
    letter   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS stem_dead_queue ON stem_dead (ns, queue, seq);
CREATE INDEX IF NOT EXISTS stem_dead_id ON stem_dead (ns, queue, id);

CREATE TABLE IF NOT EXISTS stem_results (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    record      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stem_results_expiry ON stem_results (expires_at);
-- The listing in pages, newest first (ties: the larger id first).
CREATE INDEX IF NOT EXISTS stem_results_listing
    ON stem_results (ns, json_extract(record, '$.updated_at') DESC, id DESC);

CREATE TABLE IF NOT EXISTS stem_revocations (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    revoked_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stem_requests (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    ns       TEXT    NOT NULL,
    target   TEXT,
    sent_at  INTEGER NOT NULL,
    body     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS stem_requests_sent ON stem_requests (ns, sent_at);

CREATE TABLE IF NOT EXISTS stem_replies (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    ns          TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS stem_replies_request ON stem_replies (ns, request_id, seq);

CREATE TABLE IF NOT EXISTS stem_heartbeats (
    ns          TEXT    NOT NULL,
    worker      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (ns, worker)
) WITHOUT ROWID;

-- `seq` is the event cursor; AUTOINCREMENT keeps it from ever going back.
CREATE TABLE IF NOT EXISTS stem_events (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    ns    TEXT NOT NULL,
    body  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stem_events_ns ON stem_events (ns, seq);

-- Canvas groups (a group, or a chord's header): size, the member whose join completed it, the
-- first member that failed for good, and when the state expires; members' results by index.
CREATE TABLE IF NOT EXISTS stem_groups (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    joined      INTEGER NOT NULL DEFAULT 0,
    completer   INTEGER,
    failed_by   INTEGER,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stem_groups_expiry ON stem_groups (expires_at);
CREATE TABLE IF NOT EXISTS stem_group_members (
    ns      TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    idx     INTEGER NOT NULL,
    result  TEXT    NOT NULL,
    PRIMARY KEY (ns, id, idx)
) WITHOUT ROWID;

-- Schedule store: each schedule's definition (`body`, JSON) and the state the beat keeps.
CREATE TABLE IF NOT EXISTS stem_schedules (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    last_fire   INTEGER,
    next_fire   INTEGER,
    run_count   INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    drift_ms    INTEGER,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- The beat lock, one row per namespace, kept after its lease ends so the fencing token only
-- grows. `token` is the latest issued: claims and state updates carrying another are refused.
CREATE TABLE IF NOT EXISTS stem_beat_leader (
    ns          TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    token       INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per fire claimed, so each (schedule, fire time) is published once.
CREATE TABLE IF NOT EXISTS stem_beat_claims (
    ns           TEXT    NOT NULL,
    schedule_id  TEXT    NOT NULL,
    fire_time    INTEGER NOT NULL,
    token        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (ns, schedule_id, fire_time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stem_beat_claims_expiry ON stem_beat_claims (expires_at);

-- Flow control: unique locks, paused queues, token buckets (rate limits) and slots (fleet-wide
-- concurrency limits); each change runs inside `BEGIN IMMEDIATE`, so processes take turns.
CREATE TABLE IF NOT EXISTS stem_flow_uniques (
    ns          TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stem_flow_paused (
    ns     TEXT NOT NULL,
    queue  TEXT NOT NULL,
    PRIMARY KEY (ns, queue)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stem_flow_buckets (
    ns          TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    tokens      REAL    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stem_flow_slots (
    ns          TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (ns, key, holder)
) WITHOUT ROWID;

-- Debounce bursts (`adapters/src/debounce.rs`) by run id; at most one open burst per key.
CREATE TABLE IF NOT EXISTS stem_flow_debounce (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    due         INTEGER NOT NULL,
    first_at    INTEGER NOT NULL,
    open        INTEGER NOT NULL,
    taken_at    INTEGER NOT NULL,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS stem_flow_debounce_open
    ON stem_flow_debounce (ns, key) WHERE open = 1;

CREATE TABLE IF NOT EXISTS stem_stats_minutes (
    ns      TEXT    NOT NULL,
    minute  INTEGER NOT NULL,
    name    TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (ns, minute, name)
) WITHOUT ROWID;

-- Durable workflows: runs, their journals of steps, and the waiters of event topics. States
-- and step kinds are their names; `seq` and `generation` (the fence: the claiming resume's
-- delivery generation) are u64 stored bit for bit and compared in Rust. Claims, fenced writes,
-- emits and rewinds each run inside one `BEGIN IMMEDIATE`, so processes on one file take turns.
CREATE TABLE IF NOT EXISTS stem_wf_runs (
    ns            TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    workflow      TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    queue         TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    outcome       TEXT,
    seq           INTEGER NOT NULL,
    resume_id     TEXT,
    generation    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    suspended_at  INTEGER,
    wake_at       INTEGER,
    finished_at   INTEGER,
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
-- Listing newest first, of all runs, of one state (and counting by state), of one workflow.
CREATE INDEX IF NOT EXISTS stem_wf_runs_created ON stem_wf_runs (ns, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS stem_wf_runs_state
    ON stem_wf_runs (ns, state, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS stem_wf_runs_workflow
    ON stem_wf_runs (ns, workflow, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS stem_wf_steps (
    ns           TEXT    NOT NULL,
    run          TEXT    NOT NULL,
    idx          INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    data         TEXT,
    started_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    PRIMARY KEY (ns, run, idx)
) WITHOUT ROWID;

-- A run waiting on `topic` at its step `idx`, until `deadline` (its timeout resume), if any.
CREATE TABLE IF NOT EXISTS stem_wf_waiters (
    ns        TEXT    NOT NULL,
    topic     TEXT    NOT NULL,
    run       TEXT    NOT NULL,
    idx       INTEGER NOT NULL,
    deadline  INTEGER,
    since     INTEGER NOT NULL,
    PRIMARY KEY (ns, topic, run, idx)
) WITHOUT ROWID;
-- Oldest first, of one topic or all; and a run's waiters, to delete them.
CREATE INDEX IF NOT EXISTS stem_wf_waiters_topic
    ON stem_wf_waiters (ns, topic, since, run, idx);
CREATE INDEX IF NOT EXISTS stem_wf_waiters_since ON stem_wf_waiters (ns, since, run, idx);
CREATE INDEX IF NOT EXISTS stem_wf_waiters_run ON stem_wf_waiters (ns, run, idx);
