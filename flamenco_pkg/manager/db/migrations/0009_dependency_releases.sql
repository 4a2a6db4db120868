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

-- Job deletion unschedules a job's tasks in batches first; migration 0008's
-- jobs_schedule_fields then rewrites only rows that still differ.
