-- The daemons sharing this state. On PostgreSQL several run at once: each adds a row
-- when it starts and beats every third of the lease time; `patchbay status` lists them.
-- `seq` numbers the starts: a daemon's event ids begin at seq * 2^32, so no two daemons
-- write the same event_log id (the log is pruned by time, see event_log.prune).
CREATE TABLE daemons (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,    -- host:pid:random, new at every start
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    listen TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat REAL NOT NULL,      -- the database's clock, seconds since the epoch
    stopped_at TEXT
);

-- Who does which work: one row per lease (inbox, store:NAME, integration:ID). A lease is
-- taken when free or expired and renewed by its holder; `token` grows with every change
-- of holder, so work done under an older token is known to be stale (fencing).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token INTEGER NOT NULL,
    expires REAL NOT NULL         -- the database's clock, seconds since the epoch
);

-- A run asked for on one daemon and owed by the daemon holding the integration's lease.
ALTER TABLE syncs ADD COLUMN requested_at TEXT;

CREATE INDEX event_log_ts ON event_log (ts);
