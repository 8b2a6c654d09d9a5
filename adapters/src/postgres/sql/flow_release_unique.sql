DELETE FROM flow_uniques WHERE key = $1 AND holder = $2
