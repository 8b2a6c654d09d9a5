DELETE FROM dead_letters WHERE queue = $1
