-- Version 13: debounce bursts (adapters/src/debounce.rs). One row per burst, by its run's task
-- id; at most one open burst per debounce key. Each put and take is one function call that
-- takes a transaction-scoped advisory lock on the key and reads the server's clock. (Version 12
-- is another change; the migrator applies every version not yet recorded, in order.)

CREATE TABLE flow_debounce (
    id        text    PRIMARY KEY,
    key       text    NOT NULL,
    payload   text    NOT NULL,
    due       bigint  NOT NULL,
    first_at  bigint  NOT NULL,
    open      boolean NOT NULL,
    taken_at  bigint  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX flow_debounce_open ON flow_debounce (key) WHERE open;
CREATE INDEX flow_debounce_taken ON flow_debounce (taken_at) WHERE NOT open;

-- One enqueue of debounce key `k` (run id `i`, encoded envelope `p`, window `w` ms, max_wait
-- `mw` ms or NULL): joins the key's open burst while it is not due, else opens one of `i`.
CREATE FUNCTION flow_debounce_put(k text, i text, p text, w bigint, mw bigint,
    OUT o_id text, OUT o_due bigint, OUT o_first boolean)
LANGUAGE plpgsql AS $$
DECLARE
    now_ms bigint;
    b flow_debounce%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':debounce:' || k));
    now_ms := flow_now();
    SELECT * INTO b FROM flow_debounce WHERE key = k AND open;
    IF FOUND AND b.due > now_ms THEN
        o_id := b.id;
        o_due := LEAST(now_ms + w, coalesce(b.first_at + mw, now_ms + w));
        o_first := false;
        UPDATE flow_debounce SET payload = p, due = o_due WHERE id = b.id;
        RETURN;
    END IF;
    IF FOUND THEN
        UPDATE flow_debounce SET open = false WHERE id = b.id;
    END IF;
    o_id := i;
    o_due := LEAST(now_ms + w, coalesce(now_ms + mw, now_ms + w));
    o_first := true;
    INSERT INTO flow_debounce (id, key, payload, due, first_at, open, taken_at)
    VALUES (i, k, p, o_due, now_ms, true, 0)
    ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key, payload = EXCLUDED.payload,
        due = EXCLUDED.due, first_at = EXCLUDED.first_at, open = true, taken_at = 0;
END
$$;

-- A worker asks for burst `i` of key `k`: ('gone', NULL), ('wait', due) or ('take', payload);
-- a due burst closes (later enqueues open a new one) and stays for redeliveries until done.
CREATE FUNCTION flow_debounce_take(k text, i text, OUT o_what text, OUT o_value text)
LANGUAGE plpgsql AS $$
DECLARE
    now_ms bigint;
    b flow_debounce%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':debounce:' || k));
    now_ms := flow_now();
    SELECT * INTO b FROM flow_debounce WHERE id = i AND key = k;
    IF NOT FOUND THEN
        o_what := 'gone';
        RETURN;
    END IF;
    IF b.open AND b.due > now_ms THEN
        o_what := 'wait';
        o_value := b.due::text;
        RETURN;
    END IF;
    IF b.open OR b.taken_at = 0 THEN
        UPDATE flow_debounce SET open = false, taken_at = now_ms WHERE id = i;
    END IF;
    o_what := 'take';
    o_value := b.payload;
END
$$;
