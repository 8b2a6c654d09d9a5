-- Version 3: canvas groups (a group, or a chord's header). One row per group, locked by every
-- change so concurrent joins serialize; one row per member's result (deleted with its group by
-- the clean-up).
CREATE TABLE groups (
    id         text    PRIMARY KEY,
    size       integer NOT NULL,
    joined     integer NOT NULL DEFAULT 0,
    completer  integer,
    failed_by  integer,
    expires_at bigint  NOT NULL
);
CREATE INDEX groups_expires ON groups (expires_at);
CREATE TABLE group_members (
    group_id text    NOT NULL,
    idx      integer NOT NULL,
    result   text    NOT NULL,
    PRIMARY KEY (group_id, idx)
);
