-- Where the import of each Shopify store stands, so a restart goes on from there instead
-- of reading the whole store again. Written after each page's inbox commit: a crash
-- re-reads at most that page, never skips one. `source` is the shop it belongs to (its
-- base URL): a store pointed at another shop is read from the start.
CREATE TABLE store_imports (
    store TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    cursor TEXT,            -- newest customer updated_at of the last finished pass
    pass_newest TEXT,       -- newest updated_at the pass under way has committed
    customers_next TEXT,    -- the next page of a customer pass cut off (Shopify's link)
    orders_next TEXT,       -- the same for the one full read of orders
    orders_read INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
