-- Extends leases ($1 row ids, $2 tokens) until $3; returns the ids still held.
UPDATE tasks AS t
SET visible_at = $3
FROM UNNEST($1::bigint[], $2::text[]) AS r(id, token)
WHERE t.id = r.id AND t.lease_token = r.token
RETURNING t.id
