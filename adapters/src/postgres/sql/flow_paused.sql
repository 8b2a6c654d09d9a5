SELECT queue FROM flow_paused ORDER BY queue
