-- Everything that comes in is committed here first (answered 2xx only after that), then
-- processed into the tables below. `dedupe` makes a repeat harmless: a Shopify webhook
-- id, or a hash of the payload.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    store TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    dedupe TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    processed_at TEXT,
    error TEXT
);
CREATE UNIQUE INDEX inbox_dedupe ON inbox (store, dedupe);
CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;

-- `seq` is the inbox id that last changed the row: syncs scan only what changed since.
ALTER TABLE customers ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_seq ON customers (store, seq);

CREATE TABLE orders (
    store TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT,
    email TEXT,
    status TEXT NOT NULL,
    total TEXT,
    currency TEXT,
    created_at TEXT,
    items TEXT NOT NULL DEFAULT '[]',
    seq INTEGER NOT NULL,
    PRIMARY KEY (store, id)
);
CREATE INDEX orders_seq ON orders (store, seq);

CREATE TABLE events (
    store TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    customer_id TEXT,
    email TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    seq INTEGER NOT NULL,
    PRIMARY KEY (store, id)
);
