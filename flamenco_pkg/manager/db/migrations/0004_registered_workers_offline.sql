-- Workers that registered but never signed on were stored with status ''
-- (as upstream does); '' is no WorkerStatus, so they become 'offline'.
UPDATE workers SET status = 'offline' WHERE status = '';
