-- 0001_init.sql - the checkpoint store's first schema (tideline.md §4).
--
-- Applied by src/store/store.c inside one transaction when PRAGMA user_version is 0; the
-- store then sets user_version to 1. Never edit a released step: add 0002_*.sql instead.
-- Timestamps are text in the ape-dts log form "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), so
-- they sort as text. A NULL row count means "unknown".

-- The effective position records of each table: one row per (task, schema, table, kind),
-- kind 'current' (where reading got to) or 'checkpoint' (what is committed on the target).
CREATE TABLE position (
	task_id     TEXT NOT NULL,
	db_type     TEXT,
	schema      TEXT NOT NULL,
	tb          TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('current', 'checkpoint')),
	key_form    TEXT NOT NULL CHECK (key_form IN ('order_col', 'single', 'composite', 'absent')),
	order_key   TEXT,              -- the order_key JSON form, e.g. {"single":["id","6"]}, or NULL
	key_cols    TEXT,              -- JSON array of key column names
	key_vals    TEXT,              -- JSON array of key values (strings or null)
	json        TEXT NOT NULL,     -- the exact JSON record
	source      TEXT,              -- 'run', a file path or 'ape-dts:<schema>.<table>'
	line        INTEGER NOT NULL DEFAULT 0,
	rows_copied INTEGER,
	updated_at  TEXT NOT NULL,
	seq         INTEGER NOT NULL,  -- order of first insert within the task (export order)
	PRIMARY KEY (task_id, schema, tb, kind)
) WITHOUT ROWID;

-- Tables recorded as finished (RdbSnapshotFinished records).
CREATE TABLE finished (
	task_id     TEXT NOT NULL,
	db_type     TEXT,
	schema      TEXT NOT NULL,
	tb          TEXT NOT NULL,
	json        TEXT NOT NULL,
	finished_at TEXT NOT NULL,
	source      TEXT,
	line        INTEGER NOT NULL DEFAULT 0,
	rows_copied INTEGER,
	target_rows INTEGER,           -- target row count when the table finished, if known
	seq         INTEGER NOT NULL,
	PRIMARY KEY (task_id, schema, tb)
) WITHOUT ROWID;

-- The next seq value per task (position and finished rows share it). A counter instead
-- of an index on seq keeps bulk imports fast; export sorts by seq once.
CREATE TABLE task_seq (
	task_id  TEXT PRIMARY KEY NOT NULL,
	last_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- Per-table run statistics (status, plan, ETA, keyless-table rules).
CREATE TABLE task_table (
	task_id               TEXT NOT NULL,
	schema                TEXT NOT NULL,
	tb                    TEXT NOT NULL,
	est_rows              INTEGER,
	rows_copied           INTEGER,
	target_empty_at_start INTEGER NOT NULL DEFAULT 0,
	mode                  TEXT,    -- 'batch', 'split', 'scan', 'skip'
	state                 TEXT NOT NULL DEFAULT 'pending', -- 'pending', 'running', 'finished', 'failed'
	started_at            TEXT,
	updated_at            TEXT,
	finished_at           TEXT,
	target_rows_at_finish INTEGER,
	PRIMARY KEY (task_id, schema, tb)
) WITHOUT ROWID;

-- Row-count samples for the rate over the last minute; samples older than ten minutes
-- are deleted whenever a new one is added for the table.
CREATE TABLE rate_sample (
	task_id     TEXT NOT NULL,
	schema      TEXT NOT NULL,
	tb          TEXT NOT NULL,
	at_unix     REAL NOT NULL,
	rows_copied INTEGER NOT NULL,
	PRIMARY KEY (task_id, schema, tb, at_unix)
) WITHOUT ROWID;

-- Text sources already imported (exact content: size and 64-bit hash).
CREATE TABLE import_source (
	task_id     TEXT NOT NULL,
	path        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	hash        INTEGER NOT NULL,
	imported_at TEXT NOT NULL,
	PRIMARY KEY (task_id, path)
) WITHOUT ROWID;

-- One run per task at a time.
CREATE TABLE task_lock (
	task_id    TEXT PRIMARY KEY NOT NULL,
	pid        INTEGER NOT NULL,
	host       TEXT NOT NULL,
	started_at TEXT NOT NULL
) WITHOUT ROWID;

-- Everything known about each table, for `sqlite3 checkpoint.db 'select * from progress'`.
-- last_key is the order_key of the current position, else of the checkpoint position.
CREATE VIEW progress AS
WITH k AS (
	SELECT task_id, schema, tb FROM task_table
	UNION SELECT task_id, schema, tb FROM position
	UNION SELECT task_id, schema, tb FROM finished
)
SELECT
	k.task_id AS task_id,
	k.schema AS schema,
	k.tb AS tb,
	CASE WHEN f.tb IS NOT NULL THEN 'finished'
	     WHEN t.state IS NOT NULL THEN t.state
	     WHEN pc.tb IS NOT NULL OR pk.tb IS NOT NULL THEN 'started'
	     ELSE 'pending' END AS state,
	COALESCE(t.rows_copied, f.rows_copied, pc.rows_copied, pk.rows_copied) AS rows_copied,
	t.est_rows AS est_rows,
	CASE WHEN f.tb IS NOT NULL THEN 100.0
	     WHEN t.est_rows > 0 AND COALESCE(t.rows_copied, pc.rows_copied, pk.rows_copied) IS NOT NULL
	     THEN min(100.0, round(100.0 * COALESCE(t.rows_copied, pc.rows_copied, pk.rows_copied) / t.est_rows, 1))
	     END AS percent,
	CASE WHEN pc.tb IS NOT NULL THEN pc.order_key ELSE pk.order_key END AS last_key,
	(SELECT max(u) FROM (SELECT t.updated_at AS u UNION ALL SELECT pc.updated_at UNION ALL SELECT pk.updated_at
	                     UNION ALL SELECT f.finished_at)) AS last_update,
	f.finished_at AS finished_at
FROM k
LEFT JOIN task_table t ON t.task_id = k.task_id AND t.schema = k.schema AND t.tb = k.tb
LEFT JOIN position pc ON pc.task_id = k.task_id AND pc.schema = k.schema AND pc.tb = k.tb AND pc.kind = 'current'
LEFT JOIN position pk ON pk.task_id = k.task_id AND pk.schema = k.schema AND pk.tb = k.tb AND pk.kind = 'checkpoint'
LEFT JOIN finished f ON f.task_id = k.task_id AND f.schema = k.schema AND f.tb = k.tb;
