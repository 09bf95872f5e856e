-- 0005_schema_steps.sql (PostgreSQL) - as ../0005_schema_steps.sql: the definition steps
-- of a task (#14, docs/schema.md) with their state, and the per-table view.
CREATE TABLE schema_step (
	task_id      text COLLATE "C" NOT NULL,
	step_id      text COLLATE "C" NOT NULL,
	ord          bigint NOT NULL,
	kind         text NOT NULL,
	phase        text NOT NULL CHECK (phase IN ('pre-data', 'table-post', 'post-data', 'final')),
	level        bigint NOT NULL,
	schema       text COLLATE "C",
	tb           text COLLATE "C",
	name         text COLLATE "C",
	owner_schema text COLLATE "C",
	owner_tb     text COLLATE "C",
	state        text NOT NULL DEFAULT 'pending'
	             CHECK (state IN ('pending', 'running', 'done', 'exists', 'skipped', 'failed')),
	found        text CHECK (found IN ('absent', 'present', 'partial', 'unknown')),
	created      bigint NOT NULL DEFAULT 0,
	sql_hash     text,
	error        text,
	started_at   text,
	finished_at  text,
	seconds      double precision,
	PRIMARY KEY (task_id, step_id)
);

CREATE VIEW schema_progress AS
SELECT task_id, owner_schema AS schema, owner_tb AS tb,
       count(*) AS steps,
       count(*) FILTER (WHERE state IN ('done', 'exists', 'skipped')) AS steps_done,
       count(*) FILTER (WHERE phase = 'pre-data' AND state IN ('pending', 'running', 'failed')) AS pre_data_left,
       count(*) FILTER (WHERE phase = 'table-post' AND state IN ('pending', 'running', 'failed')) AS table_post_left,
       count(*) FILTER (WHERE phase = 'post-data' AND state IN ('pending', 'running', 'failed')) AS post_data_left,
       count(*) FILTER (WHERE phase = 'final' AND state IN ('pending', 'running', 'failed')) AS final_left,
       coalesce(max(created) FILTER (WHERE kind = 'table'), 0) AS created
FROM schema_step GROUP BY task_id, owner_schema, owner_tb;
