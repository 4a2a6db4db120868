-- When a task's current run started and when it left `active` (completed,
-- failed, soft-failed, canceled, paused), so the web UI can show render
-- times and estimate what is left. Both are cleared when the task goes back
-- to the queue: a requeued task has not run yet. Tasks from before this
-- migration have neither; they simply show no time.
ALTER TABLE tasks ADD COLUMN started_at TEXT;
ALTER TABLE tasks ADD COLUMN finished_at TEXT;

-- The web UI's jobs list opens on the most recently updated jobs
-- (GET /jobs?limit=200&sort=-updated). Without an index that page sorts
-- every job's updated_at: 0.45 s at 100k jobs; with it, a short index walk.
CREATE INDEX jobs_updated ON jobs(updated_at, id);
