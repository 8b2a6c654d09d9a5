-- A live group's size and its members' results.
SELECT g.size, m.idx, m.result
FROM groups g LEFT JOIN group_members m ON m.group_id = g.id
WHERE g.id = $1 AND g.expires_at > $2
