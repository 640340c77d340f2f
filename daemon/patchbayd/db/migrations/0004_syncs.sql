-- A sync: customers of a store segment sent to one destination of an integration.
CREATE TABLE syncs (
    id INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations (id),
    segment TEXT NOT NULL,
    destination TEXT,
    mode TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    reason TEXT,
    seq_done INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);

-- One pass of a sync. `cursor_seq` is committed with each batch's results, so a run
-- killed half-way resumes after the last batch the provider acknowledged.
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY,
    sync_id INTEGER NOT NULL REFERENCES syncs (id),
    state TEXT NOT NULL,
    "full" INTEGER NOT NULL,
    upto_seq INTEGER NOT NULL,
    cursor_seq INTEGER NOT NULL DEFAULT 0,
    retry_done INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX sync_runs_sync ON sync_runs (sync_id, id);

-- What each customer last was at the destination: the payload hash of the last
-- successful send, or the failure that makes every later run retry it.
CREATE TABLE sync_contacts (
    sync_id INTEGER NOT NULL REFERENCES syncs (id),
    customer_id TEXT NOT NULL,
    hash TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (sync_id, customer_id)
);
CREATE INDEX sync_contacts_failed ON sync_contacts (sync_id, customer_id)
    WHERE status = 'failed';
