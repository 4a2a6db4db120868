-- The scheduler's pick from one index over runnable tasks, and per-job task
-- counts kept as statuses change (issue 9).
--
-- Tasks carry copies of what the pick order and filters need from their job
-- (priority, worker tag, whether the job may run) and how many of their
-- dependencies are not completed yet. Triggers keep these copies and the
-- counts right for every writer, in the writer's own transaction. Inserting
-- tasks fills them in db/tasks.py (an insert trigger would double the cost of
-- storing a 100k-task job).

ALTER TABLE tasks ADD COLUMN job_priority INTEGER NOT NULL DEFAULT 50;
ALTER TABLE tasks ADD COLUMN job_tag_id INTEGER;
ALTER TABLE tasks ADD COLUMN job_schedulable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN deps_pending INTEGER NOT NULL DEFAULT 0;

UPDATE tasks SET
    job_priority = (SELECT j.priority FROM jobs j WHERE j.id = tasks.job_id),
    job_tag_id = (SELECT j.worker_tag_id FROM jobs j WHERE j.id = tasks.job_id),
    job_schedulable = (SELECT j.status IN ('queued', 'active') AND j.delete_requested_at IS NULL
                       FROM jobs j WHERE j.id = tasks.job_id);
UPDATE tasks SET deps_pending = (
    SELECT COUNT(*) FROM task_dependencies d JOIN tasks dep ON dep.id = d.dependency_id
    WHERE d.task_id = tasks.id AND dep.status != 'completed')
WHERE id IN (SELECT task_id FROM task_dependencies);

DROP INDEX tasks_schedulable;
-- Exactly the tasks a worker could be handed, in hand-out order per task type
-- and worker tag: job priority, then task priority, then the oldest task.
CREATE INDEX tasks_runnable ON tasks(type, job_tag_id, job_priority DESC, priority DESC, id)
    WHERE status IN ('queued', 'soft-failed') AND deps_pending = 0 AND job_schedulable = 1;

CREATE TABLE job_task_counts (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (job_id, status)
) WITHOUT ROWID;
INSERT INTO job_task_counts (job_id, status, count)
    SELECT job_id, status, COUNT(*) FROM tasks GROUP BY job_id, status;

-- A task's status change moves one count and, to or from `completed`, the
-- pending-dependency count of the tasks that wait for it.
CREATE TRIGGER tasks_status_counted AFTER UPDATE OF status ON tasks
WHEN old.status != new.status
BEGIN
    UPDATE job_task_counts SET count = count - 1 WHERE job_id = old.job_id AND status = old.status;
    INSERT INTO job_task_counts (job_id, status, count) VALUES (new.job_id, new.status, 1)
        ON CONFLICT (job_id, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER tasks_dependency_done AFTER UPDATE OF status ON tasks
WHEN (old.status = 'completed') != (new.status = 'completed')
BEGIN
    UPDATE tasks SET deps_pending = deps_pending + (CASE WHEN new.status = 'completed' THEN -1 ELSE 1 END)
    WHERE id IN (SELECT task_id FROM task_dependencies WHERE dependency_id = new.id);
END;

-- A task that becomes runnable again takes its job's current values.
CREATE TRIGGER tasks_requeued_from_job AFTER UPDATE OF status ON tasks
WHEN new.status IN ('queued', 'soft-failed') AND old.status NOT IN ('queued', 'soft-failed')
BEGIN
    UPDATE tasks SET
        job_priority = (SELECT j.priority FROM jobs j WHERE j.id = new.job_id),
        job_tag_id = (SELECT j.worker_tag_id FROM jobs j WHERE j.id = new.job_id),
        job_schedulable = (SELECT j.status IN ('queued', 'active') AND j.delete_requested_at IS NULL
                           FROM jobs j WHERE j.id = new.job_id)
    WHERE id = new.id;
END;

-- A job whose priority, tag or runnability changes updates its runnable
-- tasks; the others take the job's values when they are requeued.
CREATE TRIGGER jobs_schedule_fields AFTER UPDATE OF status, priority, worker_tag_id, delete_requested_at ON jobs
WHEN old.priority != new.priority
  OR old.worker_tag_id IS NOT new.worker_tag_id
  OR (old.status IN ('queued', 'active') AND old.delete_requested_at IS NULL)
     != (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL)
BEGIN
    UPDATE tasks SET
        job_priority = new.priority,
        job_tag_id = new.worker_tag_id,
        job_schedulable = (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL)
    WHERE job_id = new.id AND status IN ('queued', 'soft-failed');
END;
