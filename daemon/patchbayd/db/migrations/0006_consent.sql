-- Consent changes waiting for a decision: store-side ones (written with the customer
-- row that carried them, integration_id NULL: every integration of the store) and
-- provider callbacks (their integration). Processed in event-time order.
CREATE TABLE consent_events (
    id INTEGER PRIMARY KEY,
    store TEXT NOT NULL,
    email TEXT NOT NULL,
    customer_id TEXT,
    integration_id INTEGER REFERENCES integrations (id),
    source TEXT NOT NULL,
    state TEXT,
    event_at TEXT,
    received_at TEXT NOT NULL,
    processed_at TEXT
);
CREATE INDEX consent_events_pending ON consent_events (id) WHERE processed_at IS NULL;

-- The last consent state each integration's provider has (sent to it or heard from it).
CREATE TABLE consent_states (
    integration_id INTEGER NOT NULL REFERENCES integrations (id),
    email TEXT NOT NULL COLLATE NOCASE,
    state TEXT NOT NULL,
    at TEXT,
    PRIMARY KEY (integration_id, email)
);

-- Every decision, applied or not: who, where, old -> new, source, rule, reason, times.
CREATE TABLE consent_audit (
    id INTEGER PRIMARY KEY,
    decided_at TEXT NOT NULL,
    integration_id INTEGER REFERENCES integrations (id),
    store TEXT NOT NULL,
    email TEXT NOT NULL COLLATE NOCASE,
    customer_id TEXT,
    source TEXT NOT NULL,
    rule TEXT NOT NULL,
    outcome TEXT NOT NULL,
    old_state TEXT,
    new_state TEXT,
    reason TEXT NOT NULL,
    event_at TEXT
);
CREATE INDEX consent_audit_email ON consent_audit (email, id);
CREATE INDEX consent_audit_outcome ON consent_audit (outcome, id);
