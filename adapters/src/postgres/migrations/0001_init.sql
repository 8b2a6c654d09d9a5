-- Stem's schema, version 1. Runs with search_path set to the namespace's schema, so every
-- name here lands in it. Times are epoch milliseconds (bigint), payloads JSON text.
-- Notifications go to the channel named after the schema; the payload says what changed.

-- Broker: one row per queued or leased task.
CREATE TABLE tasks (
    id          bigserial PRIMARY KEY,
    task_id     text     NOT NULL,
    queue       text     NOT NULL,
    priority    smallint NOT NULL DEFAULT 0,
    -- Order key: when the task first became (or becomes) ready.
    eta         bigint   NOT NULL,
    -- Fetchable once visible_at <= now: the eta when free, the lease expiry when leased.
    visible_at  bigint   NOT NULL,
    -- Text, not jsonb: a malformed payload must be storable and delivered as such.
    payload     text     NOT NULL,
    lease_owner text,
    lease_token text,
    deliveries  integer  NOT NULL DEFAULT 0,
    created_at  bigint   NOT NULL
);
CREATE INDEX tasks_fetch ON tasks (queue, priority DESC, eta, id);
CREATE INDEX tasks_visible ON tasks (queue, visible_at);

-- Every queue that has seen a publish.
CREATE TABLE queues (
    name text PRIMARY KEY
);

CREATE TABLE dead_letters (
    seq     bigserial PRIMARY KEY,
    queue   text   NOT NULL,
    id      text   NOT NULL,
    dead_at bigint NOT NULL,
    letter  text   NOT NULL,
    UNIQUE (queue, id)
);

-- Result backend.
CREATE TABLE results (
    id         text   PRIMARY KEY,
    state      text   NOT NULL,
    record     text   NOT NULL,
    updated_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX results_expires ON results (expires_at);

-- Revoke store.
CREATE TABLE revocations (
    id         text    PRIMARY KEY,
    terminate  boolean NOT NULL,
    reason     text,
    revoked_at bigint  NOT NULL,
    expires_at bigint  NOT NULL
);
CREATE INDEX revocations_revoked ON revocations (revoked_at);

-- Control plane.
CREATE TABLE control_requests (
    seq     bigserial PRIMARY KEY,
    id      text   NOT NULL,
    target  text,
    sent_at bigint NOT NULL,
    body    text   NOT NULL
);
CREATE INDEX control_requests_sent ON control_requests (sent_at);

CREATE TABLE control_replies (
    seq        bigserial PRIMARY KEY,
    request_id text   NOT NULL,
    at         bigint NOT NULL,
    body       text   NOT NULL
);
CREATE INDEX control_replies_request ON control_replies (request_id, seq);

CREATE TABLE heartbeats (
    worker     text   PRIMARY KEY,
    at         bigint NOT NULL,
    expires_at bigint NOT NULL,
    body       text   NOT NULL
);

CREATE TABLE events (
    seq  bigserial PRIMARY KEY,
    at   bigint NOT NULL,
    body text   NOT NULL
);

-- Wake-ups. Triggers rather than NOTIFY in Stem's statements, so producers that insert rows
-- directly (other languages, psql) wake idle workers too.
CREATE FUNCTION stem_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'results' THEN
        PERFORM pg_notify(TG_TABLE_SCHEMA, 'result:' || NEW.id);
    ELSIF TG_TABLE_NAME = 'control_replies' THEN
        PERFORM pg_notify(TG_TABLE_SCHEMA, 'reply:' || NEW.request_id);
    ELSE
        PERFORM pg_notify(TG_TABLE_SCHEMA, TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;

-- A publish (statement-level: one wake-up per batch).
CREATE TRIGGER tasks_published AFTER INSERT ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION stem_notify();
-- A release (a leased row given back).
CREATE TRIGGER tasks_released AFTER UPDATE ON tasks
    FOR EACH ROW WHEN (OLD.lease_token IS NOT NULL AND NEW.lease_token IS NULL)
    EXECUTE FUNCTION stem_notify();
-- A terminal result.
CREATE TRIGGER results_finished AFTER INSERT OR UPDATE ON results
    FOR EACH ROW WHEN (NEW.state IN ('success', 'failure', 'revoked'))
    EXECUTE FUNCTION stem_notify();
CREATE TRIGGER control_requests_sent AFTER INSERT ON control_requests
    FOR EACH STATEMENT EXECUTE FUNCTION stem_notify();
CREATE TRIGGER control_replies_sent AFTER INSERT ON control_replies
    FOR EACH ROW EXECUTE FUNCTION stem_notify();
CREATE TRIGGER events_emitted AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION stem_notify();
