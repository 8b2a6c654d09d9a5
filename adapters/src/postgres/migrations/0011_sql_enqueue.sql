-- Version 11: enqueue from SQL, in the caller's own transaction (docs/postgres.md, "Enqueue
-- from SQL"). `enqueue(task, args, kwargs, options)` and `enqueue_many(specs)` write exactly
-- the row a Rust publish writes (the same envelope JSON, unique-lock rows and record reset, on
-- the server's clock); the insert trigger's NOTIFY is sent when the caller commits, and nothing
-- at all happens when it rolls back. Every function here runs with the search_path this
-- migration runs with (the namespace's schema), so callers reach them by qualified name
-- (`stem.enqueue(...)`) whatever their own search_path. They run with the caller's rights.
-- Bad input raises SQLSTATE 22023 with a one-line message naming the function and the field.

CREATE FUNCTION enqueue_refuse(at text, field text, message text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION '%.%: %: %', current_schema(), at, field, message
        USING ERRCODE = '22023';
END
$$;

-- A random UUID v4 as text: `gen_random_uuid()` on PostgreSQL 13 and newer (built in), else
-- one made from `md5` of random bits, the clock and the backend (11 and 12 have no built-in).
DO $do$
BEGIN
    IF current_setting('server_version_num')::integer >= 130000 THEN
        EXECUTE $f$CREATE FUNCTION enqueue_uuid() RETURNS text LANGUAGE sql VOLATILE
            AS 'SELECT gen_random_uuid()::text'$f$;
    ELSE
        EXECUTE $f$CREATE FUNCTION enqueue_uuid() RETURNS text LANGUAGE sql VOLATILE AS $b$
            SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
                   || substr('89ab', 1 + floor(random() * 4)::integer, 1) || substr(h, 18, 3)
                   || '-' || substr(h, 21, 12)
            FROM (SELECT md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text
                             || random()::text) AS h) AS r
        $b$
        $f$;
    END IF;
END
$do$;

-- Milliseconds in a duration: a number of seconds >= 0 or text like "250ms", "5s", "1.5m",
-- "2h", "1d" (as the manifest and the CLI write them); NULL when it is neither.
CREATE FUNCTION enqueue_duration_ms(d jsonb) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE SET search_path FROM CURRENT AS $$
DECLARE
    parts text[];
    scale numeric;
    n numeric;
BEGIN
    IF jsonb_typeof(d) = 'number' THEN
        n := d::text::numeric;
        RETURN CASE WHEN n >= 0 AND n <= 1e12 THEN round(n * 1000)::bigint END;
    END IF;
    IF jsonb_typeof(d) <> 'string' THEN
        RETURN NULL;
    END IF;
    parts := regexp_match(btrim(d #>> '{}'), '^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z]*)$');
    IF parts IS NULL THEN
        RETURN NULL;
    END IF;
    scale := CASE
        WHEN parts[2] IN ('', 's', 'sec', 'secs', 'second', 'seconds') THEN 1000
        WHEN parts[2] IN ('ms', 'msec', 'millisecond', 'milliseconds') THEN 1
        WHEN parts[2] IN ('m', 'min', 'mins', 'minute', 'minutes') THEN 60000
        WHEN parts[2] IN ('h', 'hr', 'hrs', 'hour', 'hours') THEN 3600000
        WHEN parts[2] IN ('d', 'day', 'days') THEN 86400000
    END;
    IF scale IS NULL OR length(parts[1]) > 20 THEN
        RETURN NULL;
    END IF;
    n := parts[1]::numeric * scale;
    RETURN CASE WHEN n <= 1e15 THEN round(n)::bigint END;
END
$$;

-- Epoch ms of an RFC 3339 time ("2030-01-02T03:04:05Z", "...+02:00"); NULL when it is not one.
CREATE FUNCTION enqueue_time_ms(t jsonb) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
BEGIN
    IF jsonb_typeof(t) <> 'string' OR t #>> '{}' !~
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$'
    THEN
        RETURN NULL;
    END IF;
    RETURN enqueue_cast_time(t #>> '{}');
END
$$;

-- The cast behind `enqueue_time_ms`, for text already shaped like RFC 3339 (its own block, so
-- only such text pays for the exception handler's subtransaction).
CREATE FUNCTION enqueue_cast_time(t text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
BEGIN
    RETURN (extract(epoch FROM t::timestamptz) * 1000)::bigint;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN NULL;
END
$$;

-- Whether the run `holder` (`TASK_ID#NONCE`) has a final record: its unique lock is stale.
CREATE FUNCTION enqueue_run_finished(holder text) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM results
        WHERE id = regexp_replace(holder, '#[^#]*$', '')
          AND state IN ('success', 'failure', 'revoked', 'expired', 'skipped')
          AND record::jsonb ->> 'run' = holder
    );
EXCEPTION WHEN invalid_text_representation THEN
    RETURN false;
END
$$;

-- One task checked and its unique lock taken (`at` names the caller in errors: 'enqueue',
-- 'enqueue_many[3]'): the `tasks` row to insert (ready at `o_eta`, the later of its eta and
-- now), or `o_fresh` false and the id of the live task that holds its lock. The callers insert.
CREATE FUNCTION enqueue_prepare(at text, task text, args jsonb, kwargs jsonb, options jsonb,
    OUT o_id text, OUT o_queue text, OUT o_priority smallint, OUT o_eta bigint,
    OUT o_payload text, OUT o_created bigint, OUT o_fresh boolean)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
DECLARE
    known constant text[] := ARRAY['queue', 'id', 'priority', 'countdown', 'eta', 'expires',
                                   'unique_key', 'unique_for', 'headers'];
    max_delay constant bigint := 10::bigint * 365 * 86400 * 1000;
    max_eta constant bigint := 253402300799999;
    max_payload constant integer := 16 * 1024 * 1024 - 64 * 1024;
    until_finished constant bigint := 7::bigint * 86400 * 1000;
    now_ms bigint := flow_now();
    field text;
    v jsonb;
    task_id text;
    q text := 'default';
    prio integer := 0;
    eta_ms bigint;
    expires_ms bigint;
    hdrs jsonb := '{}';
    unique_key text;
    window_ms bigint;
    lock_key text;
    holder text;
    ttl_ms bigint;
    releases boolean := false;
    other text;
    stale text;
    payload text;
BEGIN
    IF task IS NULL OR task = '' THEN
        PERFORM enqueue_refuse(at, 'task', 'expected a non-empty task name');
    END IF;
    IF jsonb_typeof(args) IS DISTINCT FROM 'array' THEN
        PERFORM enqueue_refuse(at, 'args',
            'expected a JSON array, got ' || coalesce(jsonb_typeof(args), 'NULL'));
    END IF;
    IF jsonb_typeof(kwargs) IS DISTINCT FROM 'object' THEN
        PERFORM enqueue_refuse(at, 'kwargs',
            'expected a JSON object, got ' || coalesce(jsonb_typeof(kwargs), 'NULL'));
    END IF;
    IF jsonb_typeof(options) IS DISTINCT FROM 'object' THEN
        PERFORM enqueue_refuse(at, 'options',
            'expected a JSON object, got ' || coalesce(jsonb_typeof(options), 'NULL'));
    END IF;
    FOR field, v IN SELECT key, value FROM jsonb_each(options) LOOP
        IF NOT field = ANY (known) THEN
            PERFORM enqueue_refuse(at, 'options.' || field,
                'unknown option (known: ' || array_to_string(known, ', ') || ')');
        END IF;
        IF jsonb_typeof(v) = 'null' THEN
            PERFORM enqueue_refuse(at, 'options.' || field,
                'null is not a value here: leave the option out');
        END IF;
    END LOOP;

    v := options -> 'queue';
    IF v IS NOT NULL THEN
        IF jsonb_typeof(v) <> 'string' OR v #>> '{}' = '' THEN
            PERFORM enqueue_refuse(at, 'options.queue', 'expected a non-empty string');
        END IF;
        q := v #>> '{}';
    END IF;
    v := options -> 'id';
    IF v IS NOT NULL THEN
        IF jsonb_typeof(v) <> 'string' OR v #>> '{}' = '' THEN
            PERFORM enqueue_refuse(at, 'options.id', 'expected a non-empty string');
        END IF;
        task_id := v #>> '{}';
    ELSE
        task_id := enqueue_uuid();
    END IF;
    v := options -> 'priority';
    IF v IS NOT NULL THEN
        IF jsonb_typeof(v) <> 'number' OR v::text::numeric NOT IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
        THEN
            PERFORM enqueue_refuse(at, 'options.priority',
                'expected an integer from 0 to 9, got ' || v::text);
        END IF;
        prio := v::text::numeric::integer;
    END IF;
    IF options ? 'countdown' AND options ? 'eta' THEN
        PERFORM enqueue_refuse(at, 'options.countdown', 'give countdown or eta, not both');
    END IF;
    v := options -> 'countdown';
    IF v IS NOT NULL THEN
        eta_ms := enqueue_duration_ms(v);
        IF eta_ms IS NULL OR eta_ms > max_delay THEN
            PERFORM enqueue_refuse(at, 'options.countdown',
                'expected seconds (a number >= 0) or a duration like "5s", at most 10 years, got '
                || v::text);
        END IF;
        eta_ms := now_ms + eta_ms;
    END IF;
    v := options -> 'eta';
    IF v IS NOT NULL THEN
        IF jsonb_typeof(v) = 'number' THEN
            IF v::text::numeric < 0 OR v::text::numeric > max_eta
               OR v::text::numeric <> trunc(v::text::numeric) THEN
                eta_ms := NULL;
            ELSE
                eta_ms := v::text::numeric::bigint;
            END IF;
        ELSE
            eta_ms := enqueue_time_ms(v);
        END IF;
        IF eta_ms IS NULL OR eta_ms > max_eta THEN
            PERFORM enqueue_refuse(at, 'options.eta',
                'expected epoch milliseconds or an RFC 3339 time up to the year 9999, got '
                || v::text);
        END IF;
    END IF;
    v := options -> 'expires';
    IF v IS NOT NULL THEN
        expires_ms := enqueue_time_ms(v);
        IF expires_ms IS NULL THEN
            expires_ms := enqueue_duration_ms(v);
            IF expires_ms IS NOT NULL AND expires_ms <= max_delay THEN
                expires_ms := now_ms + expires_ms;
            ELSE
                expires_ms := NULL;
            END IF;
        END IF;
        IF expires_ms IS NULL OR expires_ms > max_eta THEN
            PERFORM enqueue_refuse(at, 'options.expires',
                'expected a duration like "30s" or an RFC 3339 time, got ' || v::text);
        END IF;
    END IF;
    v := options -> 'unique_key';
    IF v IS NOT NULL THEN
        IF jsonb_typeof(v) <> 'string' OR v #>> '{}' = '' THEN
            PERFORM enqueue_refuse(at, 'options.unique_key', 'expected a non-empty string');
        END IF;
        unique_key := v #>> '{}';
    END IF;
    v := options -> 'unique_for';
    IF v IS NOT NULL THEN
        IF unique_key IS NULL THEN
            PERFORM enqueue_refuse(at, 'options.unique_for',
                'a dedup window needs its unique_key (give both)');
        END IF;
        window_ms := enqueue_duration_ms(v);
        IF window_ms IS NULL OR window_ms > max_delay THEN
            PERFORM enqueue_refuse(at, 'options.unique_for',
                'expected seconds or a duration like "10m", got ' || v::text);
        END IF;
        window_ms := greatest(window_ms, 1);
    END IF;
    v := options -> 'headers';
    IF v IS NOT NULL THEN
        IF jsonb_typeof(v) <> 'object' THEN
            PERFORM enqueue_refuse(at, 'options.headers', 'expected a JSON object of strings');
        END IF;
        FOR field IN SELECT key FROM jsonb_each(v) WHERE jsonb_typeof(value) <> 'string' LOOP
            PERFORM enqueue_refuse(at, 'options.headers.' || field, 'expected a string');
        END LOOP;
        FOR field IN SELECT key FROM jsonb_each(v) WHERE lower(key) LIKE 'stem-%' LOOP
            PERFORM enqueue_refuse(at, 'options.headers.' || field,
                'headers starting "stem-" are Stem''s own');
        END LOOP;
        hdrs := v;
    END IF;
    -- The producer's trace: a valid traceparent given is kept, else a new trace.
    IF coalesce(hdrs ->> 'traceparent', '') !~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
       OR hdrs ->> 'traceparent' LIKE '__-00000000000000000000000000000000-%'
       OR hdrs ->> 'traceparent' LIKE '%-0000000000000000-__' THEN
        hdrs := hdrs || jsonb_build_object('traceparent',
            '00-' || replace(enqueue_uuid(), '-', '') || '-'
            || left(replace(enqueue_uuid(), '-', ''), 16) || '-01');
    END IF;
    hdrs := hdrs || '{"stem-source": "sql"}';

    -- Unique jobs, as `ops::unique`: by key (for a window, else until the task finishes), or
    -- by the given id until the task finishes.
    IF unique_key IS NOT NULL THEN
        lock_key := 'key:' || task || ':' || unique_key;
    ELSIF options ? 'id' THEN
        lock_key := 'id:' || task_id;
    END IF;
    IF lock_key IS NOT NULL THEN
        holder := task_id || '#' || left(replace(enqueue_uuid(), '-', ''), 16);
        hdrs := hdrs || jsonb_build_object('stem-unique-key', lock_key,
                                           'stem-unique-holder', holder);
        IF window_ms IS NOT NULL THEN
            hdrs := hdrs || jsonb_build_object('stem-unique-ttl-ms', window_ms::text);
            ttl_ms := window_ms;
            other := flow_claim_unique(lock_key, holder, ttl_ms, NULL);
        ELSE
            hdrs := hdrs || '{"stem-unique-release": "1"}';
            ttl_ms := until_finished;
            releases := true;
            -- A lock whose run has a final record is taken over (`flow::claim_run`).
            FOR attempt IN 1..5 LOOP
                other := flow_claim_unique(lock_key, holder, ttl_ms,
                                           CASE WHEN attempt < 5 THEN stale END);
                EXIT WHEN other IS NULL OR attempt = 5 OR NOT enqueue_run_finished(other);
                stale := other;
            END LOOP;
        END IF;
        IF other IS NOT NULL THEN
            -- A live task holds it: nothing is published; its id is the answer.
            o_id := regexp_replace(other, '#[^#]*$', '');
            o_fresh := false;
            RETURN;
        END IF;
    END IF;

    -- The envelope as `TaskEnvelope` serializes it (fields in its order, absent options left out).
    payload := '{"id":' || to_json(task_id)::text || ',"name":' || to_json(task)::text
        || ',"args":' || args::text || ',"kwargs":' || kwargs::text
        || ',"queue":' || to_json(q)::text || ',"priority":' || prio || ',"attempt":1'
        || coalesce(',"eta":' || eta_ms, '') || coalesce(',"expires_at":' || expires_ms, '')
        || ',"headers":' || hdrs::text || ',"created_at":' || now_ms || '}';
    IF octet_length(payload) > max_payload THEN
        PERFORM enqueue_refuse(at, 'args',
            format('the task is %s bytes, more than the %s the postgres broker takes',
                   octet_length(payload), max_payload));
    END IF;
    IF releases THEN
        -- A reused id's record follows the new run (`ops::unique::reset_record`).
        UPDATE results
        SET state = 'pending', updated_at = now_ms, expires_at = now_ms + 86400000,
            generation = generation + 1,
            record = json_build_object(
                'generation', generation + 1, 'id', task_id, 'name', task, 'queue', q,
                'state', 'pending', 'attempt', 1, 'args', args, 'kwargs', kwargs,
                'created_at', now_ms, 'updated_at', now_ms, 'run', holder)::text
        WHERE id = task_id;
    END IF;
    o_id := task_id;
    o_queue := q;
    o_priority := prio;
    o_eta := greatest(eta_ms, now_ms);
    o_payload := payload;
    o_created := now_ms;
    o_fresh := true;
END
$$;

-- Publishes `task` with `args`, `kwargs` and `options` (queue, id, priority, countdown or eta,
-- expires, unique_key, unique_for, headers); returns the task id (for a duplicate of a live
-- unique task, that task's id, and nothing is published).
CREATE FUNCTION enqueue(task text, args jsonb DEFAULT '[]', kwargs jsonb DEFAULT '{}',
                        options jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
DECLARE
    r record;
BEGIN
    r := enqueue_prepare('enqueue', task, args, kwargs, options);
    IF r.o_fresh THEN
        INSERT INTO queues (name) SELECT r.o_queue
        WHERE NOT EXISTS (SELECT 1 FROM queues WHERE name = r.o_queue)
        ON CONFLICT (name) DO NOTHING;
        INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at)
        VALUES (r.o_id, r.o_queue, r.o_priority, r.o_eta, r.o_eta, r.o_payload, r.o_created);
    END IF;
    RETURN r.o_id;
END
$$;

-- One spec of `enqueue_many` (`{"task": ..., "args": [...], "kwargs": {...}, OPTION: ...}`).
CREATE FUNCTION enqueue_spec(at text, spec jsonb,
    OUT o_id text, OUT o_queue text, OUT o_priority smallint, OUT o_eta bigint,
    OUT o_payload text, OUT o_created bigint, OUT o_fresh boolean)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
BEGIN
    IF jsonb_typeof(spec) <> 'object' THEN
        PERFORM enqueue_refuse(at, 'spec',
            'expected a JSON object like {"task": "NAME", "args": []}');
    END IF;
    IF jsonb_typeof(spec -> 'task') IS DISTINCT FROM 'string' THEN
        PERFORM enqueue_refuse(at, 'task', 'expected a non-empty string');
    END IF;
    SELECT * INTO o_id, o_queue, o_priority, o_eta, o_payload, o_created, o_fresh
    FROM enqueue_prepare(at, spec ->> 'task', coalesce(spec -> 'args', '[]'),
                         coalesce(spec -> 'kwargs', '{}'), spec - 'task' - 'args' - 'kwargs');
END
$$;

-- Publishes every spec of the JSON array `specs` (at most 10,000) with one insert (one
-- wake-up); returns their ids in order. One bad spec refuses the whole call, naming its index.
CREATE FUNCTION enqueue_many(specs jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
DECLARE
    ids text[];
BEGIN
    IF jsonb_typeof(specs) IS DISTINCT FROM 'array' THEN
        PERFORM enqueue_refuse('enqueue_many', 'specs',
            'expected a JSON array of task specs, got ' || coalesce(jsonb_typeof(specs), 'NULL'));
    END IF;
    IF jsonb_array_length(specs) > 10000 THEN
        PERFORM enqueue_refuse('enqueue_many', 'specs',
            jsonb_array_length(specs) || ' specs, more than 10000 in one call');
    END IF;
    -- Specs are prepared one after another in order (so of two with one unique id the first
    -- publishes), then inserted in that order. `prepared` is read three times and calls a
    -- volatile function, so it is computed once (materialized on every version).
    WITH prepared AS (
        SELECT e.n, r.*
        FROM jsonb_array_elements(specs) WITH ORDINALITY AS e(spec, n)
        CROSS JOIN LATERAL enqueue_spec('enqueue_many[' || (e.n - 1) || ']', e.spec) AS r
    ),
    known AS (
        INSERT INTO queues (name)
        SELECT DISTINCT o_queue FROM prepared
        WHERE o_fresh AND NOT EXISTS (SELECT 1 FROM queues WHERE name = o_queue)
        ON CONFLICT (name) DO NOTHING
    ),
    published AS (
        INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at)
        SELECT o_id, o_queue, o_priority, o_eta, o_eta, o_payload, o_created
        FROM prepared WHERE o_fresh ORDER BY n
    )
    SELECT coalesce(array_agg(o_id ORDER BY n), '{}') INTO ids FROM prepared;
    RETURN ids;
END
$$;
