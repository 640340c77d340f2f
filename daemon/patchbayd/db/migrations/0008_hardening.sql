-- A row that cannot be processed is quarantined (with its error) instead of blocking the
-- rows behind it; replay clears the mark and the processor takes it again. Rows that
-- earlier versions marked with an error are quarantined rows too.
ALTER TABLE inbox ADD COLUMN quarantined_at TEXT;
UPDATE inbox SET quarantined_at = processed_at WHERE error IS NOT NULL;
CREATE INDEX inbox_quarantined ON inbox (id) WHERE quarantined_at IS NOT NULL;

-- Orders carry the time of their last change: an older update (a replayed or late
-- webhook) never moves an order's status back.
ALTER TABLE orders ADD COLUMN updated_at TEXT;

-- An export asked for and not yet finished: recorded before it starts, so an export cut
-- off by a crash (and a feed asked for in that moment) resumes when the daemon starts.
ALTER TABLE order_feeds ADD COLUMN requested_at TEXT;
