-- Member $2 of group $1 (size $3) joins with result $4; state kept until $5 (expired groups are
-- deleted by the clean-up). One statement: the member is inserted once (a second join of the
-- same index waits for the first, then does nothing), then the group row is upserted — its row
-- lock serializes concurrent joins, and each sees the count the one before left — and the join
-- that makes `joined` reach `size` sets `completer`. Returns the completer.
WITH m AS (
    INSERT INTO group_members (group_id, idx, result) VALUES ($1, $2, $4)
    ON CONFLICT (group_id, idx) DO NOTHING
    RETURNING idx
)
INSERT INTO groups (id, size, joined, completer, expires_at)
SELECT $1, $3, n, CASE WHEN n >= $3 THEN $2 END, $5
FROM (SELECT count(*)::integer AS n FROM m) AS added
ON CONFLICT (id) DO UPDATE
SET size = EXCLUDED.size,
    joined = groups.joined + EXCLUDED.joined,
    completer = CASE
        WHEN groups.completer IS NULL AND groups.joined + EXCLUDED.joined >= EXCLUDED.size
        THEN $2 ELSE groups.completer END,
    expires_at = EXCLUDED.expires_at
RETURNING completer
