-- Version 7: the fleet's counters per minute (StatsHistory), for the dashboard's charts.
CREATE TABLE stats_minutes (
    minute  BIGINT NOT NULL,
    name    TEXT   NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (minute, name)
);
