DELETE FROM flow_slots WHERE key = $1 AND holder = $2
