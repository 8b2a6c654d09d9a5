SELECT idx, result FROM stem_group_members WHERE ns = ?1 AND id = ?2 ORDER BY idx
