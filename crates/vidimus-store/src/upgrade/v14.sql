-- Which column list each tracked table's logging triggers were made for (see
-- row_log.rs): a new list (first time, or a schema upgrade) logs a baseline image of
-- every row, so `vidimus verify` can replay every change from a known start.
CREATE TABLE row_log_state (
  tbl TEXT PRIMARY KEY,
  columns TEXT NOT NULL
);
