INSERT INTO flow_paused (queue, paused_at) VALUES ($1, flow_now()) ON CONFLICT (queue) DO NOTHING
