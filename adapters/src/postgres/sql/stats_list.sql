-- Every counter of the minutes at or after $1, oldest first.
SELECT minute, name, count FROM stats_minutes WHERE minute >= $1 ORDER BY minute, name
