-- A completed task with many dependents releases them in short batches
-- (issue 9): one UPDATE of 100k dependents' deps_pending held the writer for
-- half a second. Up to 1000 dependents are still released in the completing
-- transaction; beyond that, the completion queues a release here, and the
-- Manager's release loop (db/dependencies.py) lowers their counts a batch at
-- a time. Until their batch, dependents still count the task as pending, so
-- they are never handed out early. A task leaving `completed` still raises its
-- dependents' counts at once: the counts are sums, so a release still in
-- progress and the raise add up to the right value.

CREATE TABLE dependency_releases (
    id INTEGER PRIMARY KEY,
    dependency_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    -- task_dependencies rowid up to which the dependents are released
    done_up_to INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dependency_releases_dependency ON dependency_releases(dependency_id);

DROP TRIGGER tasks_dependency_done;

CREATE TRIGGER tasks_dependency_done AFTER UPDATE OF status ON tasks
WHEN (old.status = 'completed') != (new.status = 'completed')
 AND (new.status != 'completed'
      OR NOT EXISTS (SELECT 1 FROM task_dependencies WHERE dependency_id = new.id LIMIT 1 OFFSET 1000))
BEGIN
    UPDATE tasks SET deps_pending = deps_pending + (CASE WHEN new.status = 'completed' THEN -1 ELSE 1 END)
    WHERE id IN (SELECT task_id FROM task_dependencies WHERE dependency_id = new.id);
END;

CREATE TRIGGER tasks_dependency_done_later AFTER UPDATE OF status ON tasks
WHEN old.status != 'completed' AND new.status = 'completed'
 AND EXISTS (SELECT 1 FROM task_dependencies WHERE dependency_id = new.id LIMIT 1 OFFSET 1000)
BEGIN
    INSERT INTO dependency_releases (dependency_id) VALUES (new.id);
END;

-- Rows of tasks that already hold the job's values are not rewritten: with
-- a job's tasks made not runnable beforehand in batches (job deletion, see
-- job_deleter), marking the job only reads its tasks.
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
      AND (job_priority != new.priority OR job_tag_id IS NOT new.worker_tag_id
           OR job_schedulable != (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL
                                  AND new.deps_pending = 0));
END;
