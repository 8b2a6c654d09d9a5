-- Version 10: the result listing in pages. The dashboard, `stem tasks list` and `GET /v1/tasks`
-- read records newest first (ties: the larger id first) and continue after a cursor; these
-- indexes let a page at 100,000+ records read only its own rows, with or without a state.
CREATE INDEX results_listing ON results (updated_at DESC, id DESC);
CREATE INDEX results_state_listing ON results (state, updated_at DESC, id DESC);
