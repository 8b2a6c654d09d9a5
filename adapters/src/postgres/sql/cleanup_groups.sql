-- Expired groups and their members' results.
WITH gone AS (DELETE FROM groups WHERE expires_at <= $1 RETURNING id)
DELETE FROM group_members m USING gone WHERE m.group_id = gone.id
