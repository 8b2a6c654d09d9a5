-- Version 6: flow control. Unique locks, paused queues, token buckets (rate limits) and slots
-- (fleet-wide concurrency limits), each changed by one function on the server's clock under a
-- transaction-scoped advisory lock per key, so racing workers and producers take turns.
CREATE TABLE flow_uniques (
    key        text   PRIMARY KEY,
    holder     text   NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX flow_uniques_expires ON flow_uniques (expires_at);

CREATE TABLE flow_paused (
    queue     text   PRIMARY KEY,
    paused_at bigint NOT NULL
);

CREATE TABLE flow_buckets (
    key        text             PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at bigint           NOT NULL
);

CREATE TABLE flow_slots (
    key        text   NOT NULL,
    holder     text   NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (key, holder)
);

CREATE FUNCTION flow_now() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
$$;

-- NULL when `h` took (or renewed) lock `k` for `ttl` ms; else the live holder.
CREATE FUNCTION flow_claim_unique(k text, h text, ttl bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    current_holder text;
    now_ms bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':unique:' || k));
    now_ms := flow_now();
    SELECT holder INTO current_holder FROM flow_uniques WHERE key = k AND expires_at > now_ms;
    IF current_holder IS NOT NULL AND current_holder <> h THEN
        RETURN current_holder;
    END IF;
    INSERT INTO flow_uniques (key, holder, expires_at) VALUES (k, h, now_ms + ttl)
        ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at;
    RETURN NULL;
END
$$;

-- 0 when a token of bucket `k` (`rate` a second, at most `burst`) was taken; else the ms to wait.
CREATE FUNCTION flow_take_token(k text, rate double precision, burst double precision)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    now_ms bigint;
    have double precision;
    at bigint;
    wait_ms bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':bucket:' || k));
    now_ms := flow_now();
    SELECT tokens, updated_at INTO have, at FROM flow_buckets WHERE key = k;
    IF have IS NULL THEN
        have := burst;
    ELSE
        have := LEAST(burst, have + GREATEST(0, now_ms - at) * rate / 1000.0);
    END IF;
    IF have >= 1 THEN
        have := have - 1;
    ELSE
        wait_ms := GREATEST(1, ceil((1 - have) * 1000.0 / rate))::bigint;
    END IF;
    INSERT INTO flow_buckets (key, tokens, updated_at) VALUES (k, have, now_ms)
        ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, updated_at = EXCLUDED.updated_at;
    RETURN wait_ms;
END
$$;

-- Whether `h` holds a slot of `k` until now + `lease` ms (taken or renewed; at most `max` live).
CREATE FUNCTION flow_take_slot(k text, max_holders integer, h text, lease bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    now_ms bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':slots:' || k));
    now_ms := flow_now();
    DELETE FROM flow_slots WHERE key = k AND expires_at <= now_ms;
    IF EXISTS (SELECT 1 FROM flow_slots WHERE key = k AND holder = h)
       OR (SELECT count(*) FROM flow_slots WHERE key = k) < max_holders THEN
        INSERT INTO flow_slots (key, holder, expires_at) VALUES (k, h, now_ms + lease)
            ON CONFLICT (key, holder) DO UPDATE SET expires_at = EXCLUDED.expires_at;
        RETURN true;
    END IF;
    RETURN false;
END
$$;
