-- 0005_schema_steps.sql - the definition steps of a task (#14, docs/schema.md): one row per
-- step a run creates, builds or sets on the target (a CREATE, an index build, a foreign
-- key, a sequence value), so that a rerun skips what is done, finishes what was half
-- done, and knows which target objects this task created. Written by
-- src/store/store_defs.c; the PostgreSQL store has the same table in
-- schema/pg/0005_schema_steps.sql.
--
-- state: pending (to do), running (being applied: a table recorded running before its
-- CREATE is this task's even when the run died before recording done), done (applied;
-- `found` says what the target had first), exists (found on the target before this task
-- touched it, used as it is), skipped (belongs to a table that existed on the target:
-- never altered), failed (the last attempt failed, `error` says why). `created` stays 1
-- once this task has created or finished the object (`run --init` keeps it).
CREATE TABLE schema_step (
	task_id      TEXT NOT NULL,
	step_id      TEXT NOT NULL,        -- the step's stable id, e.g. 'index public.city_name_idx'
	ord          INTEGER NOT NULL,     -- position in the run's list (phase order, dependencies first)
	kind         TEXT NOT NULL,        -- 'table', 'index', 'foreign key', 'sequence value', ...
	phase        TEXT NOT NULL CHECK (phase IN ('pre-data', 'table-post', 'post-data', 'final')),
	level        INTEGER NOT NULL,     -- steps of a phase with the same level may run at once
	schema       TEXT,                 -- the object's target names
	tb           TEXT,
	name         TEXT,
	owner_schema TEXT,                 -- the selected (source) table the step belongs to, or NULL
	owner_tb     TEXT,
	state        TEXT NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'running', 'done', 'exists', 'skipped', 'failed')),
	found        TEXT CHECK (found IN ('absent', 'present', 'partial', 'unknown')),
	created      INTEGER NOT NULL DEFAULT 0,
	sql_hash     TEXT,                 -- 64-bit FNV-1a of the step's SQL (hex): a changed source definition
	error        TEXT,
	started_at   TEXT,
	finished_at  TEXT,
	seconds      REAL,                 -- how long the last apply took
	PRIMARY KEY (task_id, step_id)
) WITHOUT ROWID;

-- Per task and table: how far its definitions are (status, and SQL users).
CREATE VIEW schema_progress AS
SELECT task_id, owner_schema AS schema, owner_tb AS tb,
       count(*) AS steps,
       sum(state IN ('done', 'exists', 'skipped')) AS steps_done,
       sum(phase = 'pre-data' AND state IN ('pending', 'running', 'failed')) AS pre_data_left,
       sum(phase = 'table-post' AND state IN ('pending', 'running', 'failed')) AS table_post_left,
       sum(phase = 'post-data' AND state IN ('pending', 'running', 'failed')) AS post_data_left,
       sum(phase = 'final' AND state IN ('pending', 'running', 'failed')) AS final_left,
       max(kind = 'table' AND created = 1) AS created
FROM schema_step GROUP BY task_id, owner_schema, owner_tb;
