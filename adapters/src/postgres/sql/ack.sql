-- Removes deliveries ($1 row ids, $2 lease tokens); a lost lease's token matches nothing.
DELETE FROM tasks AS t
USING UNNEST($1::bigint[], $2::text[]) AS r(id, token)
WHERE t.id = r.id AND t.lease_token = r.token
