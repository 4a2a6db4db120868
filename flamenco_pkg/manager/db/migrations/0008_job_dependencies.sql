-- Job -> job dependencies (issue 16): a job runs only once every job it
-- depends on is completed.
--
-- `jobs.deps_pending` counts the dependencies that are not completed; a
-- trigger keeps it as dependencies change status. A job with a pending
-- dependency is not runnable, through the same copy on its task rows
-- (`job_schedulable`) that keeps paused jobs out of the scheduler's partial
-- index: waiting jobs cost the pick nothing.
-- `jobs.dependency_paused` says the job was paused because a dependency
-- failed or was canceled (not by an operator), so it goes back to waiting
-- when that dependency is requeued.

CREATE TABLE job_dependencies (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    dependency_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, dependency_id)
) WITHOUT ROWID;
CREATE INDEX job_dependencies_dependents ON job_dependencies(dependency_id, job_id);

ALTER TABLE jobs ADD COLUMN deps_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN dependency_paused INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER jobs_dependency_done AFTER UPDATE OF status ON jobs
WHEN (old.status = 'completed') != (new.status = 'completed')
BEGIN
    UPDATE jobs SET deps_pending = deps_pending + (CASE WHEN new.status = 'completed' THEN -1 ELSE 1 END)
    WHERE id IN (SELECT job_id FROM job_dependencies WHERE dependency_id = new.id);
END;

-- Runnable now also means "no pending dependency".
DROP TRIGGER jobs_schedule_fields;
CREATE TRIGGER jobs_schedule_fields
AFTER UPDATE OF status, priority, worker_tag_id, delete_requested_at, deps_pending ON jobs
WHEN old.status != 'under-construction' AND (
     old.priority != new.priority
  OR old.worker_tag_id IS NOT new.worker_tag_id
  OR (old.status IN ('queued', 'active') AND old.delete_requested_at IS NULL AND old.deps_pending = 0)
     != (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL AND new.deps_pending = 0))
BEGIN
    UPDATE tasks SET
        job_priority = new.priority,
        job_tag_id = new.worker_tag_id,
        job_schedulable = (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL
                           AND new.deps_pending = 0)
    WHERE job_id = new.id AND status IN ('queued', 'soft-failed')
      -- rows that hold the job's values already are not rewritten: a job's tasks made not
      -- runnable beforehand in batches (job deletion) are only read when the job is marked
      AND (job_priority != new.priority OR job_tag_id IS NOT new.worker_tag_id
           OR job_schedulable != (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL
                                  AND new.deps_pending = 0));
END;

DROP TRIGGER tasks_requeued_from_job;
CREATE TRIGGER tasks_requeued_from_job AFTER UPDATE OF status ON tasks
WHEN new.status IN ('queued', 'soft-failed') AND old.status NOT IN ('queued', 'soft-failed')
BEGIN
    UPDATE tasks SET
        job_priority = (SELECT j.priority FROM jobs j WHERE j.id = new.job_id),
        job_tag_id = (SELECT j.worker_tag_id FROM jobs j WHERE j.id = new.job_id),
        job_schedulable = (SELECT j.status IN ('queued', 'active') AND j.delete_requested_at IS NULL
                                  AND j.deps_pending = 0
                           FROM jobs j WHERE j.id = new.job_id)
    WHERE id = new.id;
END;
