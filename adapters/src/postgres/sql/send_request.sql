INSERT INTO control_requests (id, target, sent_at, body) VALUES ($1, $2, $3, $4)
