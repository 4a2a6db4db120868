"""Start-up checks that run before the Manager serves requests."""

from __future__ import annotations

import logging

from . import rules as states
from ..context import Manager
from ..db import jobs as job_db
from .apply import apply_job_steps

log = logging.getLogger("flamenco.manager")

STUCK_STATUSES = ("cancel-requested", "requeueing", "pause-requested")


def check_stuck_jobs(manager: Manager) -> None:
    """Finish cascades that a stop interrupted: re-apply the job's current status."""
    with manager.change() as (conn, changes):
        for job in job_db.fetch_by_status(conn, STUCK_STATUSES):
            log.info('job %s was left in "%s", finishing its status change', job["uuid"], job["status"])
            steps = states.job_status_reenforced(job["status"], job_db.task_statuses(conn, job["id"]))
            apply_job_steps(conn, changes, job["id"], steps)
