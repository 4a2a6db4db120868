-- Storing a 100,000-task job (issue 9): tasks_worker_status holds only tasks
-- that have a Worker. New tasks have none, so an insert no longer writes an
-- index entry that no query reads: every query through this index names a
-- Worker (`worker_id = ?`), which implies `worker_id IS NOT NULL`, so SQLite
-- still uses it (and so does the ON DELETE SET NULL of a removed Worker).
DROP INDEX tasks_worker_status;
CREATE INDEX tasks_worker_status ON tasks(worker_id, status) WHERE worker_id IS NOT NULL;
