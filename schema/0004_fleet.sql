-- 0004_fleet.sql - a fleet of workers running one task through one store (#17; the
-- shared PostgreSQL store, schema/pg/0004_fleet.sql, is where it matters; on SQLite the
-- same tables give the same rules on one host). Written by src/store/store_lease.c.
--
-- Times here are seconds since the epoch by the store's clock: tl_now(), which tideline
-- registers on its SQLite connections (PostgreSQL: the server's clock_timestamp()). The
-- views use SQLite's own clock so that the sqlite3 shell can read them.

-- The units of work workers claim: a table, a chunk of a split table, a schema step
-- (kind is free text; item_key is unique within the task and kind). A claim sets owner,
-- lease_until and token = token + 1; every write that depends on the claim (a position,
-- the finish) checks the token in its own transaction, so a worker whose lease was taken
-- over can no longer record anything (fencing).
CREATE TABLE work_item (
	task_id     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	item_key    TEXT NOT NULL,
	ord         INTEGER NOT NULL,          -- claim order within (task, kind): insertion order
	schema      TEXT,                      -- the table the item belongs to, if any (status)
	tb          TEXT,
	payload     TEXT,                      -- what the worker needs, e.g. a chunk's bounds
	state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
	owner       TEXT,                      -- the worker holding it (or that last held it)
	prev_owner  TEXT,                      -- the holder a claim took it over from (lease expired)
	token       INTEGER NOT NULL DEFAULT 0,
	lease_until REAL,
	claimed_at  REAL,
	done_at     REAL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	progress    TEXT,                      -- the holder's last committed position within the item
	rows_copied INTEGER,
	result      TEXT,                      -- what 'done' or 'failed' said
	PRIMARY KEY (task_id, kind, item_key)
) WITHOUT ROWID;

-- The open items in claim order (done and failed items are never scanned again).
CREATE INDEX work_item_open ON work_item (task_id, kind, ord) WHERE state IN ('pending', 'claimed');

-- The workers of a task (tideline run --worker NAME): who, where, alive when.
CREATE TABLE worker (
	task_id      TEXT NOT NULL,
	name         TEXT NOT NULL,
	host         TEXT NOT NULL,
	pid          INTEGER NOT NULL,
	started_at   REAL NOT NULL,
	heartbeat_at REAL NOT NULL,
	lease_secs   REAL NOT NULL,            -- gone when its heartbeat is older than this
	rows_copied  INTEGER NOT NULL DEFAULT 0,
	rate         REAL,                     -- rows/s over the worker's last interval
	state        TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'stopped', 'failed')),
	PRIMARY KEY (task_id, name)
) WITHOUT ROWID;

-- Leases as they stand now: seconds left (negative: expired, free to be taken over).
CREATE VIEW lease AS
SELECT task_id, kind, item_key, schema, tb, state, owner, token, attempts, prev_owner,
       datetime(lease_until, 'unixepoch') AS lease_until_utc,
       round(lease_until - (julianday('now') - 2440587.5) * 86400.0, 1) AS seconds_left,
       progress, rows_copied
FROM work_item WHERE state = 'claimed';

-- Workers with the age of their last heartbeat and whether they count as alive.
CREATE VIEW fleet AS
SELECT w.task_id, w.name, w.host, w.pid, w.state,
       datetime(w.started_at, 'unixepoch') AS started_utc,
       datetime(w.heartbeat_at, 'unixepoch') AS heartbeat_utc,
       round((julianday('now') - 2440587.5) * 86400.0 - w.heartbeat_at, 1) AS heartbeat_age,
       w.state = 'running' AND (julianday('now') - 2440587.5) * 86400.0 - w.heartbeat_at <= w.lease_secs AS alive,
       w.rows_copied, w.rate,
       (SELECT count(*) FROM work_item i WHERE i.task_id = w.task_id AND i.owner = w.name AND i.state = 'claimed') AS leases
FROM worker w;
