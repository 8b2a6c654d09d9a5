-- Member $2 of group $1 (size $3) failed for good; state kept until $4. Returns the group's
-- first failed member.
INSERT INTO groups (id, size, failed_by, expires_at) VALUES ($1, $3, $2, $4)
ON CONFLICT (id) DO UPDATE
SET failed_by = coalesce(groups.failed_by, EXCLUDED.failed_by), expires_at = EXCLUDED.expires_at
RETURNING failed_by
