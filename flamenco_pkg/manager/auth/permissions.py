"""Who may do what: the roles, and the one table of every operation's permission (pure).

Every operation of our OpenAPI spec is in `OPERATIONS` (a unit test fails when
one is missing, and when docs/auth.md's table is not `markdown_table()`).
Only in effect with `auth.enabled`; with it off, everyone may do everything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(str, enum.Enum):
    VIEWER = "viewer"
    ARTIST = "artist"
    MANAGER = "manager"
    ADMIN = "admin"
    WORKER = "worker"


# Each person's role includes the rights of those before it; `worker` stands apart.
LADDER = (Role.VIEWER, Role.ARTIST, Role.MANAGER, Role.ADMIN)


class Permission(str, enum.Enum):
    """What an operation needs. The value is how docs/auth.md names it."""

    PUBLIC = "anyone"  # no credentials needed
    WORKER_SECRET = "the Worker's own ID and secret"  # HTTP Basic, as upstream; no user involved
    REGISTER = "worker or admin token"  # registerWorker
    SIGNED_IN = "any user"  # any authenticated user, whatever its role
    VIEW = "viewer"
    SUBMIT = "artist"
    OWN_JOB = "artist (own jobs), manager"  # artists only for jobs they submitted
    FARM = "manager"  # every job, Workers, tags, sleep schedules
    ADMIN = "admin"  # configuration, setup assistant, users


@dataclass(frozen=True)
class Rule:
    permission: Permission
    audited: bool = False  # a state-changing request: recorded in the audit log


def _r(permission: Permission, audited: bool = False) -> Rule:
    return Rule(permission, audited)


P = Permission
OPERATIONS: dict[str, Rule] = {
    # meta
    "getVersion": _r(P.PUBLIC),
    "getConfiguration": _r(P.VIEW),
    "getVariables": _r(P.VIEW),
    "getSharedStorage": _r(P.VIEW),
    "getFarmStatus": _r(P.VIEW),
    "checkSharedStoragePath": _r(P.ADMIN),
    "findBlenderExePath": _r(P.ADMIN),
    "checkBlenderExePath": _r(P.ADMIN),
    "saveSetupAssistantConfig": _r(P.ADMIN, audited=True),
    "getConfigurationFile": _r(P.ADMIN),
    "updateConfigurationFile": _r(P.ADMIN, audited=True),
    # worker (the Worker's own calls)
    "registerWorker": _r(P.REGISTER, audited=True),
    "signOn": _r(P.WORKER_SECRET),
    "signOff": _r(P.WORKER_SECRET),
    "workerState": _r(P.WORKER_SECRET),
    "workerStateChanged": _r(P.WORKER_SECRET),
    "scheduleTask": _r(P.WORKER_SECRET),
    "taskUpdate": _r(P.WORKER_SECRET),
    "mayWorkerRun": _r(P.WORKER_SECRET),
    "taskOutputProduced": _r(P.WORKER_SECRET),
    # worker-mgt
    "fetchWorkers": _r(P.VIEW),
    "fetchWorker": _r(P.VIEW),
    "deleteWorker": _r(P.FARM, audited=True),
    "requestWorkerStatusChange": _r(P.FARM, audited=True),
    "setWorkerTags": _r(P.FARM, audited=True),
    "fetchWorkerSleepSchedule": _r(P.VIEW),
    "setWorkerSleepSchedule": _r(P.FARM, audited=True),
    "fetchWorkerTags": _r(P.VIEW),
    "createWorkerTag": _r(P.FARM, audited=True),
    "fetchWorkerTag": _r(P.VIEW),
    "updateWorkerTag": _r(P.FARM, audited=True),
    "deleteWorkerTag": _r(P.FARM, audited=True),
    # jobs
    "getJobTypes": _r(P.VIEW),
    "getJobType": _r(P.VIEW),
    "fetchJobs": _r(P.VIEW),
    "submitJob": _r(P.SUBMIT, audited=True),
    "submitJobCheck": _r(P.SUBMIT),
    "deleteJobMass": _r(P.FARM, audited=True),
    "fetchGlobalLastRenderedInfo": _r(P.VIEW),
    "fetchJob": _r(P.VIEW),
    "deleteJob": _r(P.OWN_JOB, audited=True),
    "deleteJobWhatWouldItDo": _r(P.VIEW),
    "fetchJobLastRenderedInfo": _r(P.VIEW),
    "setJobStatus": _r(P.OWN_JOB, audited=True),
    "setJobPriority": _r(P.OWN_JOB, audited=True),
    "setJobTag": _r(P.OWN_JOB, audited=True),
    "fetchJobTasks": _r(P.VIEW),
    "fetchJobBlocklist": _r(P.VIEW),
    "removeJobBlocklist": _r(P.OWN_JOB, audited=True),
    "fetchTask": _r(P.VIEW),
    "fetchTaskLogTail": _r(P.VIEW),
    "fetchTaskLogInfo": _r(P.VIEW),
    "setTaskStatus": _r(P.OWN_JOB, audited=True),
    # shaman (uploading a job's files is part of submitting it)
    "shamanCheckoutRequirements": _r(P.SUBMIT),
    "shamanCheckout": _r(P.SUBMIT),
    "shamanFileStoreCheck": _r(P.SUBMIT),
    "shamanFileStore": _r(P.SUBMIT),
    # auth (ours)
    "authLogin": _r(P.PUBLIC),
    "authLogout": _r(P.SIGNED_IN),
    "authMe": _r(P.SIGNED_IN),
    "fetchUsers": _r(P.ADMIN),
    "saveUser": _r(P.ADMIN, audited=True),
    "deleteUser": _r(P.ADMIN, audited=True),
    "createUserToken": _r(P.ADMIN, audited=True),
    "revokeToken": _r(P.ADMIN, audited=True),
    "fetchAuditLog": _r(P.FARM),
}

# Routes outside the API: (path prefix, permission). Anything else outside the
# API (the web UI's files and login page, Swagger UI, the spec, the add-on
# download, UPnP) is public: none of it tells more than the public source code.
OTHER_ROUTES: tuple[tuple[str, Permission], ...] = (
    ("/metrics", P.VIEW),
    ("/job-files/", P.VIEW),
)


def _ladder_min(permission: Permission) -> Role | None:
    return {P.VIEW: Role.VIEWER, P.SUBMIT: Role.ARTIST, P.OWN_JOB: Role.ARTIST,
            P.FARM: Role.MANAGER, P.ADMIN: Role.ADMIN}.get(permission)


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether `role` has `permission` (for OWN_JOB: for its own jobs, see `may_change_job`)."""
    role = Role(role)
    if permission in (P.PUBLIC, P.SIGNED_IN):
        return True
    if permission is P.WORKER_SECRET:
        return False  # no user ever: only the Worker's own credentials
    if permission is P.REGISTER:
        return role in (Role.WORKER, Role.ADMIN)
    if role is Role.WORKER:
        return False
    needed = _ladder_min(permission)
    return needed is not None and LADDER.index(role) >= LADDER.index(needed)


def may_change_job(role: Role | str, username: str, submitted_by: str | None) -> bool:
    """An artist may change its own jobs only; managers and admins every job."""
    role = Role(role)
    if allows(role, P.FARM):
        return True
    return role is Role.ARTIST and bool(submitted_by) and submitted_by == username


def rule_for_path(path: str) -> Permission:
    """The permission of a route outside the API."""
    for prefix, permission in OTHER_ROUTES:
        if path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
            return permission
    return P.PUBLIC


def markdown_table() -> str:
    """The permission table as docs/auth.md shows it (between its markers; `make docs` writes it)."""
    lines = ["| operation | needs | audited |", "|---|---|---|"]
    for op_id, rule in OPERATIONS.items():
        lines.append(f"| `{op_id}` | {rule.permission.value} | {'yes' if rule.audited else ''} |")
    for prefix, permission in OTHER_ROUTES:
        lines.append(f"| `GET {prefix}` (outside the API) | {permission.value} | |")
    return "\n".join(lines) + "\n"
