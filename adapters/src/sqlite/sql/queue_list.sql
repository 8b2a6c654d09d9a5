SELECT queue FROM stem_queues WHERE ns = ?1 ORDER BY queue
