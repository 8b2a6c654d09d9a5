-- Members of expired groups.
DELETE FROM stem_group_members WHERE (ns, id) IN (SELECT ns, id FROM stem_groups WHERE expires_at <= ?1)
