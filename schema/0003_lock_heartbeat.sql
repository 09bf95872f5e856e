-- 0003_lock_heartbeat.sql - the task lock's heartbeat (#13, #17).
--
-- The holder of a task lock renews heartbeat_at (seconds since the epoch, by the store's
-- clock: tl_now(), which tideline registers on its SQLite connections) with its writes.
-- A lock of this host is stale when its pid is gone; a lock of another host when its
-- heartbeat is older than the lease. NULL: written by a tideline before this step.
ALTER TABLE task_lock ADD COLUMN heartbeat_at REAL;
