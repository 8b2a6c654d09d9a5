-- Version 9: durable workflows. A row per run, its journal (a row per step), and the waiters of
-- event topics. Ids sort bytewise (COLLATE "C") so listings order like the other backends.
--
-- Locking discipline (no deadlocks, nothing missed): every write locks the run's row before it
-- touches the run's steps or waiters, and an emit locks its runs in id order. A step write holds
-- the run `FOR SHARE`; claims, suspensions, ends, rewinds and emits take it exclusively. The
-- writes that read or delete a run's other rows after waiting for that lock (suspend, finish,
-- rewind) are the functions below: in READ COMMITTED each of their statements takes a fresh
-- snapshot, so they see what the write they waited for left (a step, a waiter).
CREATE TABLE wf_runs (
    id           text COLLATE "C" PRIMARY KEY,
    workflow     text   NOT NULL,
    version      bigint NOT NULL,
    queue        text   NOT NULL,
    state        text   NOT NULL CHECK (state IN ('running', 'suspended', 'completed', 'failed',
                                                  'cancelled', 'timed_out')),
    data         text   NOT NULL,
    outcome      text,
    seq          bigint NOT NULL,
    resume_id    text,
    generation   bigint NOT NULL,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL,
    suspended_at bigint,
    wake_at      bigint,
    finished_at  bigint
);
-- Newest first, all runs or by state or by workflow.
CREATE INDEX wf_runs_created ON wf_runs (created_at, id);
CREATE INDEX wf_runs_state ON wf_runs (state, created_at, id);
CREATE INDEX wf_runs_workflow ON wf_runs (workflow, created_at, id);

CREATE TABLE wf_steps (
    run         text COLLATE "C" NOT NULL,
    idx         bigint NOT NULL,
    name        text   NOT NULL,
    kind        text   NOT NULL,
    state       text   NOT NULL,
    attempt     bigint NOT NULL,
    data        text,
    started_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    finished_at bigint,
    PRIMARY KEY (run, idx)
);

CREATE TABLE wf_waiters (
    topic    text NOT NULL,
    run      text COLLATE "C" NOT NULL,
    idx      bigint NOT NULL,
    deadline bigint,
    since    bigint NOT NULL,
    PRIMARY KEY (topic, run, idx)
);
-- Oldest first within a topic; a run's waiters (dropped when it ends or rewinds).
CREATE INDEX wf_waiters_topic_since ON wf_waiters (topic, since, run, idx);
CREATE INDEX wf_waiters_run ON wf_waiters (run, idx);

-- Suspends run `p_id` claimed at `p_gen`: registers the waiter (when `p_topic` is not NULL)
-- unless its step is already final, then marks the run suspended. Whether it was suspended.
CREATE FUNCTION wf_suspend(p_id text, p_gen bigint, p_wake bigint, p_topic text, p_idx bigint,
                           p_deadline bigint, p_since bigint, p_now bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM wf_runs
    WHERE id = p_id AND generation = p_gen AND state IN ('running', 'suspended')
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_topic IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM wf_steps s
        WHERE s.run = p_id AND s.idx = p_idx AND s.state IN ('done', 'failed')
    ) THEN
        INSERT INTO wf_waiters (topic, run, idx, deadline, since)
        VALUES (p_topic, p_id, p_idx, p_deadline, p_since)
        ON CONFLICT (topic, run, idx)
        DO UPDATE SET deadline = EXCLUDED.deadline, since = EXCLUDED.since;
    END IF;
    UPDATE wf_runs
    SET state = 'suspended', suspended_at = p_now, wake_at = p_wake, updated_at = p_now
    WHERE id = p_id;
    RETURN true;
END
$$;

-- Ends live run `p_id` in final state `p_state` (fenced by `p_gen` unless NULL) and drops its
-- waiters. The run as it was before; no row when it was not ended here.
CREATE FUNCTION wf_finish(p_id text, p_gen bigint, p_state text, p_outcome text, p_now bigint)
RETURNS SETOF wf_runs LANGUAGE plpgsql AS $$
DECLARE
    was wf_runs;
BEGIN
    SELECT * INTO was FROM wf_runs
    WHERE id = p_id AND state IN ('running', 'suspended')
      AND (p_gen IS NULL OR generation = p_gen)
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE wf_runs
    SET state = p_state, outcome = p_outcome, finished_at = p_now, wake_at = NULL,
        updated_at = p_now
    WHERE id = p_id;
    DELETE FROM wf_waiters WHERE run = p_id;
    RETURN NEXT was;
END
$$;

-- Rewinds run `p_id` to step `p_idx`: drops the steps from it on and the run's waiters, and
-- makes the run suspended again under a generation one higher. The run after; no row when
-- there is no such run.
CREATE FUNCTION wf_rewind(p_id text, p_idx bigint, p_now bigint)
RETURNS SETOF wf_runs LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM wf_runs WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    DELETE FROM wf_steps WHERE run = p_id AND idx >= p_idx;
    DELETE FROM wf_waiters WHERE run = p_id;
    RETURN QUERY
    UPDATE wf_runs
    SET state = 'suspended', outcome = NULL, finished_at = NULL, wake_at = NULL,
        generation = generation + 1, suspended_at = p_now, updated_at = p_now
    WHERE id = p_id
    RETURNING *;
END
$$;
