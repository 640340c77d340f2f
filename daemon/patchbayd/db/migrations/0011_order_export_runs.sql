-- One row per export someone asked for (`patchbay orders export`, the console): what is
-- followed while it runs and read back after. The daemon answers the request at once and
-- runs the export in the background; a daemon stopped during one resumes it at start.
-- While it runs, its counts come from the ledger rows it tagged (order_exports.run_id);
-- when it ends they are written here, so an order a later export takes over does not
-- change what this one reported.
CREATE TABLE order_export_runs (
    id INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations (id),
    mode TEXT NOT NULL,                -- once | active, as asked
    state TEXT NOT NULL,               -- running | done | failed
    total INTEGER,                     -- orders it covers (NULL until they are queued)
    resent INTEGER NOT NULL DEFAULT 0, -- re-sent after an interruption (provider dedupes)
    sent INTEGER,                      -- final counts, NULL while running
    failed INTEGER,
    in_doubt INTEGER,
    ineligible INTEGER,
    waiting INTEGER,                   -- still queued or sending when it ended
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX order_export_runs_integration ON order_export_runs (integration_id, id);

ALTER TABLE order_exports ADD COLUMN run_id INTEGER;
CREATE INDEX order_exports_run ON order_exports (run_id, state);
