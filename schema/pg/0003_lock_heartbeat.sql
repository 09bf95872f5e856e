-- 0003_lock_heartbeat.sql (PostgreSQL) - as ../0003_lock_heartbeat.sql: the task lock's
-- heartbeat, by the store server's clock. tl_now() is that clock in seconds since the
-- epoch (clock_timestamp: the time of the call, not of the transaction's start), the
-- same function tideline registers on SQLite connections, so the store's statements
-- are the same in both dialects.
CREATE FUNCTION tl_now() RETURNS double precision LANGUAGE sql VOLATILE
	AS 'SELECT extract(epoch FROM clock_timestamp())::double precision';

ALTER TABLE task_lock ADD COLUMN heartbeat_at double precision;
