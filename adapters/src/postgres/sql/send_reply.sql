INSERT INTO control_replies (request_id, at, body) VALUES ($1, $2, $3)
