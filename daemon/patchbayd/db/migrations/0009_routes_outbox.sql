-- Routes: workflows (trigger -> conditions -> actions). `definition` is the route's table
-- as JSON, the same shape as a [[route]] in a TOML file.
CREATE TABLE routes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The outbox: one row per delivery, written in the transaction that commits its event,
-- with the payload already rendered (what is shown is what will be sent). `contact`
-- orders deliveries per contact and integration; `key` is the idempotency key the
-- provider gets, so a delivery repeated after a crash is one event there.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    route_id INTEGER,
    route_name TEXT NOT NULL,
    integration_id INTEGER NOT NULL,
    store TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id TEXT NOT NULL,
    action INTEGER NOT NULL,
    kind TEXT NOT NULL,
    contact TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    timeout REAL NOT NULL,
    status TEXT NOT NULL,          -- pending | retrying | delivered | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    last_attempt_ms REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE UNIQUE INDEX deliveries_once ON deliveries (route_id, integration_id, key);
CREATE INDEX deliveries_open ON deliveries (integration_id, id)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_route ON deliveries (route_id, updated_at);
