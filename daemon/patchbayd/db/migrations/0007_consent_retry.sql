-- A consent event its provider could not take is retried later with back-off; until then
-- it steps aside, so one provider that is down never holds up every other contact.
ALTER TABLE consent_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consent_events ADD COLUMN next_attempt_at TEXT;
