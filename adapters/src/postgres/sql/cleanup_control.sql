-- Control messages older than $1: requests and replies are only useful for seconds.
WITH requests AS (DELETE FROM control_requests WHERE sent_at < $1)
DELETE FROM control_replies WHERE at < $1
