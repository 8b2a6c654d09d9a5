-- Version 8: unique locks held by runs. A claim may replace a stale holder (one whose run the
-- caller found finished) in the same locked step, so of producers racing to take over one
-- finished run's lock exactly one wins. NULL when `h` took (or renewed) lock `k` for `ttl` ms;
-- else the live holder.
CREATE FUNCTION flow_claim_unique(k text, h text, ttl bigint, stale text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    current_holder text;
    now_ms bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || ':unique:' || k));
    now_ms := flow_now();
    SELECT holder INTO current_holder FROM flow_uniques WHERE key = k AND expires_at > now_ms;
    IF current_holder IS NOT NULL AND current_holder <> h
       AND current_holder IS DISTINCT FROM stale THEN
        RETURN current_holder;
    END IF;
    INSERT INTO flow_uniques (key, holder, expires_at) VALUES (k, h, now_ms + ttl)
        ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at;
    RETURN NULL;
END
$$;
