-- Farm-wide counts of jobs, tasks and workers per status, for /metrics
-- (issue 13), and the outbox of webhook deliveries.
--
-- The counts are kept by triggers in the writer's own transaction, so a
-- scrape reads a few rows instead of scanning every job and task, and no
-- writer (API, loops, tools that use plain SQL) can leave them wrong. Task
-- totals follow `job_task_counts` (migration 0002), which already moves by
-- one row per task status change, bulk insert and job deletion.

CREATE TABLE status_totals (
    kind TEXT NOT NULL,     -- 'job', 'task' or 'worker'
    status TEXT NOT NULL,   -- '' for a worker that registered but never signed on
    count INTEGER NOT NULL,
    PRIMARY KEY (kind, status)
) WITHOUT ROWID;

INSERT INTO status_totals (kind, status, count)
    SELECT 'job', status, COUNT(*) FROM jobs GROUP BY status;
INSERT INTO status_totals (kind, status, count)
    SELECT 'task', status, SUM(count) FROM job_task_counts GROUP BY status;
INSERT INTO status_totals (kind, status, count)
    SELECT 'worker', status, COUNT(*) FROM workers WHERE deleted_at IS NULL GROUP BY status;

CREATE TRIGGER jobs_total_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO status_totals (kind, status, count) VALUES ('job', new.status, 1)
        ON CONFLICT (kind, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER jobs_total_status AFTER UPDATE OF status ON jobs
WHEN old.status != new.status
BEGIN
    UPDATE status_totals SET count = count - 1 WHERE kind = 'job' AND status = old.status;
    INSERT INTO status_totals (kind, status, count) VALUES ('job', new.status, 1)
        ON CONFLICT (kind, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER jobs_total_delete AFTER DELETE ON jobs
BEGIN
    UPDATE status_totals SET count = count - 1 WHERE kind = 'job' AND status = old.status;
END;

CREATE TRIGGER job_task_counts_total_insert AFTER INSERT ON job_task_counts
BEGIN
    INSERT INTO status_totals (kind, status, count) VALUES ('task', new.status, new.count)
        ON CONFLICT (kind, status) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER job_task_counts_total_update AFTER UPDATE OF count ON job_task_counts
WHEN old.count != new.count
BEGIN
    UPDATE status_totals SET count = count + new.count - old.count WHERE kind = 'task' AND status = new.status;
END;

CREATE TRIGGER job_task_counts_total_delete AFTER DELETE ON job_task_counts
BEGIN
    UPDATE status_totals SET count = count - old.count WHERE kind = 'task' AND status = old.status;
END;

-- Soft-deleted workers (deleted_at set) no longer count.
CREATE TRIGGER workers_total_insert AFTER INSERT ON workers
WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO status_totals (kind, status, count) VALUES ('worker', new.status, 1)
        ON CONFLICT (kind, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER workers_total_update AFTER UPDATE OF status, deleted_at ON workers
WHEN old.status != new.status OR (old.deleted_at IS NULL) != (new.deleted_at IS NULL)
BEGIN
    UPDATE status_totals SET count = count - 1
        WHERE kind = 'worker' AND status = old.status AND old.deleted_at IS NULL;
    INSERT INTO status_totals (kind, status, count)
        SELECT 'worker', new.status, 1 WHERE new.deleted_at IS NULL
        ON CONFLICT (kind, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER workers_total_delete AFTER DELETE ON workers
WHEN old.deleted_at IS NULL
BEGIN
    UPDATE status_totals SET count = count - 1 WHERE kind = 'worker' AND status = old.status;
END;

-- Webhook deliveries waiting to be sent (or retried). A row is written in the
-- same transaction as the status change it reports, so a Manager killed after
-- the commit still delivers it after its restart. The body is stored exactly
-- as sent, with its signature, so the secret is not kept here.
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    body BLOB NOT NULL,
    signature TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
-- Deliveries to one URL go out in order: the loop looks at each URL's oldest row.
CREATE INDEX webhook_outbox_url ON webhook_outbox(url, id);
