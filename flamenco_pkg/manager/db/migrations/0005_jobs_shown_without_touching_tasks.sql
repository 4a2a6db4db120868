-- A job being stored (under-construction, see submission.py) is shown
-- without this trigger touching its tasks: they go in not runnable, and the
-- submission makes them runnable itself in short batches afterwards. As one
-- UPDATE, 100k tasks would hold the writer for half a second and more.
DROP TRIGGER jobs_schedule_fields;
CREATE TRIGGER jobs_schedule_fields AFTER UPDATE OF status, priority, worker_tag_id, delete_requested_at ON jobs
WHEN old.status != 'under-construction' AND (
     old.priority != new.priority
  OR old.worker_tag_id IS NOT new.worker_tag_id
  OR (old.status IN ('queued', 'active') AND old.delete_requested_at IS NULL)
     != (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL))
BEGIN
    UPDATE tasks SET
        job_priority = new.priority,
        job_tag_id = new.worker_tag_id,
        job_schedulable = (new.status IN ('queued', 'active') AND new.delete_requested_at IS NULL)
    WHERE job_id = new.id AND status IN ('queued', 'soft-failed');
END;
