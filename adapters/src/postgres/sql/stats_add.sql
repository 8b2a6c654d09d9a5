-- Adds counts ($2 names, $3 counts) to minute $1, and drops minutes before $4.
WITH pruned AS (DELETE FROM stats_minutes WHERE minute < $4)
INSERT INTO stats_minutes (minute, name, count)
SELECT $1, n, c FROM unnest($2::text[], $3::bigint[]) AS t(n, c)
ON CONFLICT (minute, name) DO UPDATE SET count = stats_minutes.count + excluded.count
