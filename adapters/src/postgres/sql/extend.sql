-- Extends leases ($1 row ids, $2 tokens) to $3 ms from now on the server's clock; returns the
-- ids still held.
UPDATE tasks AS t
SET visible_at = (extract(epoch FROM statement_timestamp()) * 1000)::bigint + $3::bigint
FROM UNNEST($1::bigint[], $2::text[]) AS r(id, token)
WHERE t.id = r.id AND t.lease_token = r.token
RETURNING t.id
