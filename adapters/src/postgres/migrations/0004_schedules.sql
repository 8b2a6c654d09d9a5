-- Version 4: the schedule store. Each schedule's definition (JSON text) beside the state the
-- beat keeps; the beat lock as one row whose token only grows; one row per claimed fire, so each
-- (schedule, fire time) is published once.
CREATE TABLE schedules (
    id         text   PRIMARY KEY,
    body       text   NOT NULL,
    last_fire  bigint,
    next_fire  bigint,
    run_count  bigint NOT NULL DEFAULT 0,
    last_error text,
    drift_ms   bigint
);

CREATE TABLE beat_leader (
    id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    holder     text    NOT NULL,
    token      bigint  NOT NULL,
    expires_at bigint  NOT NULL
);

CREATE TABLE beat_claims (
    schedule_id text   NOT NULL,
    fire_time   bigint NOT NULL,
    token       bigint NOT NULL,
    expires_at  bigint NOT NULL,
    PRIMARY KEY (schedule_id, fire_time)
);
CREATE INDEX beat_claims_expires ON beat_claims (expires_at);
