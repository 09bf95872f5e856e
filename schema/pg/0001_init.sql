-- 0001_init.sql (PostgreSQL) - the checkpoint store's first schema, the same tables and
-- view as ../0001_init.sql in PostgreSQL's dialect (tideline.md §4, docs/store.md).
--
-- Applied by src/store/ inside one transaction, under an advisory lock, in the store's
-- schema ("tideline" unless the URL says ?schema=NAME; it is the session's search_path);
-- the store then records version 1 in schema_version. Never edit a released step: add
-- 0002_*.sql here and beside ../ with the same name instead.
-- Text key columns use the "C" collation so that they sort byte by byte, as SQLite's
-- BINARY does. Timestamps are text in the ape-dts log form "YYYY-MM-DD HH:MM:SS.ffffff"
-- (UTC), as on SQLite. A NULL row count means "unknown".

CREATE TABLE position (
	task_id     text COLLATE "C" NOT NULL,
	db_type     text,
	schema      text COLLATE "C" NOT NULL,
	tb          text COLLATE "C" NOT NULL,
	kind        text COLLATE "C" NOT NULL CHECK (kind IN ('current', 'checkpoint')),
	key_form    text NOT NULL CHECK (key_form IN ('order_col', 'single', 'composite', 'absent')),
	order_key   text,
	key_cols    text,
	key_vals    text,
	json        text NOT NULL,
	source      text,
	line        bigint NOT NULL DEFAULT 0,
	rows_copied bigint,
	updated_at  text NOT NULL,
	seq         bigint NOT NULL,
	PRIMARY KEY (task_id, schema, tb, kind)
);

CREATE TABLE finished (
	task_id     text COLLATE "C" NOT NULL,
	db_type     text,
	schema      text COLLATE "C" NOT NULL,
	tb          text COLLATE "C" NOT NULL,
	json        text NOT NULL,
	finished_at text NOT NULL,
	source      text,
	line        bigint NOT NULL DEFAULT 0,
	rows_copied bigint,
	target_rows bigint,
	seq         bigint NOT NULL,
	PRIMARY KEY (task_id, schema, tb)
);

CREATE TABLE task_seq (
	task_id  text COLLATE "C" PRIMARY KEY NOT NULL,
	last_seq bigint NOT NULL
);

CREATE TABLE task_table (
	task_id               text COLLATE "C" NOT NULL,
	schema                text COLLATE "C" NOT NULL,
	tb                    text COLLATE "C" NOT NULL,
	est_rows              bigint,
	rows_copied           bigint,
	target_empty_at_start bigint NOT NULL DEFAULT 0,
	mode                  text,
	state                 text NOT NULL DEFAULT 'pending',
	started_at            text,
	updated_at            text,
	finished_at           text,
	target_rows_at_finish bigint,
	PRIMARY KEY (task_id, schema, tb)
);

CREATE TABLE rate_sample (
	task_id     text COLLATE "C" NOT NULL,
	schema      text COLLATE "C" NOT NULL,
	tb          text COLLATE "C" NOT NULL,
	at_unix     double precision NOT NULL,
	rows_copied bigint NOT NULL,
	PRIMARY KEY (task_id, schema, tb, at_unix)
);

CREATE TABLE import_source (
	task_id     text COLLATE "C" NOT NULL,
	path        text COLLATE "C" NOT NULL,
	size        bigint NOT NULL,
	hash        bigint NOT NULL,
	imported_at text NOT NULL,
	PRIMARY KEY (task_id, path)
);

CREATE TABLE task_lock (
	task_id    text COLLATE "C" PRIMARY KEY NOT NULL,
	pid        bigint NOT NULL,
	host       text NOT NULL,
	started_at text NOT NULL
);

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
	     THEN LEAST(100.0, round(100.0 * COALESCE(t.rows_copied, pc.rows_copied, pk.rows_copied) / t.est_rows, 1))
	     END AS percent,
	CASE WHEN pc.tb IS NOT NULL THEN pc.order_key ELSE pk.order_key END AS last_key,
	GREATEST(t.updated_at, pc.updated_at, pk.updated_at, f.finished_at) AS last_update,
	f.finished_at AS finished_at
FROM k
LEFT JOIN task_table t ON t.task_id = k.task_id AND t.schema = k.schema AND t.tb = k.tb
LEFT JOIN position pc ON pc.task_id = k.task_id AND pc.schema = k.schema AND pc.tb = k.tb AND pc.kind = 'current'
LEFT JOIN position pk ON pk.task_id = k.task_id AND pk.schema = k.schema AND pk.tb = k.tb AND pk.kind = 'checkpoint'
LEFT JOIN finished f ON f.task_id = k.task_id AND f.schema = k.schema AND f.tb = k.tb;
