DELETE FROM flow_paused WHERE queue = $1
