-- Farm-wide task counts per status are summed from `job_task_counts` when they
-- are read (a metrics scrape, on a reader), no longer kept in `status_totals`
-- by triggers (issue 9). Those triggers ran twice on every task status change,
-- the hot path of every hand-out and completion; the sum reads one row per job
-- and status, a few milliseconds at 10,000 jobs, once a scrape.

DROP TRIGGER job_task_counts_total_insert;
DROP TRIGGER job_task_counts_total_update;
DROP TRIGGER job_task_counts_total_delete;
DELETE FROM status_totals WHERE kind = 'task';
