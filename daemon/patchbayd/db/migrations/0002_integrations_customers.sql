-- Integrations: one store connected to one provider account. The credential is kept
-- here (the database is 0600 in a 0700 state dir) and wiped on disconnect; the row
-- stays so ledgers and audit entries keep pointing at something.
CREATE TABLE integrations (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    store TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    account TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    secret TEXT,
    fingerprint TEXT,
    callback_token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_activity_at TEXT,
    last_activity TEXT,
    disconnected_at TEXT
);
CREATE INDEX integrations_live ON integrations (disconnected_at, id);

-- Administrative actions (connect, disconnect, state changes), for `who did what when`.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    action TEXT NOT NULL,
    integration_id INTEGER REFERENCES integrations (id),
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_integration ON audit_log (integration_id, id);

-- Customers as each store last told us, the source every sync reads.
CREATE TABLE customers (
    store TEXT NOT NULL,
    id TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    first_name TEXT,
    last_name TEXT,
    created_at TEXT,
    updated_at TEXT,
    email_consent TEXT,
    email_consent_at TEXT,
    sms_consent TEXT,
    sms_consent_at TEXT,
    member TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    properties TEXT NOT NULL DEFAULT '{}',
    received_at TEXT NOT NULL,
    PRIMARY KEY (store, id)
);
CREATE INDEX customers_email ON customers (store, email COLLATE NOCASE);
