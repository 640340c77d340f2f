-- The exactly-once ledger: one row per order per integration. `sending` is committed
-- before the provider is called and `sent` right after it answered, so after a crash a
-- row still `sending` is the only order whose fate is unknown.
CREATE TABLE order_exports (
    integration_id INTEGER NOT NULL REFERENCES integrations (id),
    order_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, order_id)
);

-- Integrations whose new confirmed/paid orders follow by themselves.
CREATE TABLE order_feeds (
    integration_id INTEGER PRIMARY KEY REFERENCES integrations (id),
    mode TEXT NOT NULL,
    created_at TEXT NOT NULL
);
