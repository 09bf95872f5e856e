-- 0004_fleet.sql (PostgreSQL) - as ../0004_fleet.sql: work items claimed by a fleet of
-- workers with leases and fencing tokens, and the worker registry (#17). Claims take
-- open rows FOR UPDATE SKIP LOCKED in claim order; lease times are the server's clock
-- (tl_now(): clock_timestamp() in seconds since the epoch), never a worker's.
CREATE TABLE work_item (
	task_id     text COLLATE "C" NOT NULL,
	kind        text COLLATE "C" NOT NULL,
	item_key    text COLLATE "C" NOT NULL,
	ord         bigint NOT NULL,
	schema      text COLLATE "C",
	tb          text COLLATE "C",
	payload     text,
	state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
	owner       text,
	prev_owner  text,
	token       bigint NOT NULL DEFAULT 0,
	lease_until double precision,
	claimed_at  double precision,
	done_at     double precision,
	attempts    bigint NOT NULL DEFAULT 0,
	progress    text,
	rows_copied bigint,
	result      text,
	PRIMARY KEY (task_id, kind, item_key)
);

CREATE INDEX work_item_open ON work_item (task_id, kind, ord) WHERE state IN ('pending', 'claimed');

CREATE TABLE worker (
	task_id      text COLLATE "C" NOT NULL,
	name         text COLLATE "C" NOT NULL,
	host         text NOT NULL,
	pid          bigint NOT NULL,
	started_at   double precision NOT NULL,
	heartbeat_at double precision NOT NULL,
	lease_secs   double precision NOT NULL,
	rows_copied  bigint NOT NULL DEFAULT 0,
	rate         double precision,
	state        text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'stopped', 'failed')),
	PRIMARY KEY (task_id, name)
);

CREATE VIEW lease AS
SELECT task_id, kind, item_key, schema, tb, state, owner, token, attempts, prev_owner,
       to_timestamp(lease_until) AS lease_until_utc,
       round((lease_until - tl_now())::numeric, 1) AS seconds_left,
       progress, rows_copied
FROM work_item WHERE state = 'claimed';

CREATE VIEW fleet AS
SELECT w.task_id, w.name, w.host, w.pid, w.state,
       to_timestamp(w.started_at) AS started_utc,
       to_timestamp(w.heartbeat_at) AS heartbeat_utc,
       round((tl_now() - w.heartbeat_at)::numeric, 1) AS heartbeat_age,
       w.state = 'running' AND tl_now() - w.heartbeat_at <= w.lease_secs AS alive,
       w.rows_copied, w.rate,
       (SELECT count(*) FROM work_item i WHERE i.task_id = w.task_id AND i.owner = w.name AND i.state = 'claimed') AS leases
FROM worker w;
