"""SQL for tasks, their dependencies and their failure lists."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import compress, count
from operator import ne

from .connection import utcnow

# A job whose tasks may be handed out (`j` is the jobs row): the value the
# task rows copy into `job_schedulable` (migrations 0002, 0008).
JOB_RUNNABLE = "(j.status IN ('queued', 'active') AND j.delete_requested_at IS NULL AND j.deps_pending = 0)"

TASK_COLUMNS = """t.id, t.created_at, t.updated_at, t.uuid, t.name, t.type, t.job_id, t.index_in_job,
    t.priority, t.status, t.worker_id, t.last_touched_at, t.commands, t.activity,
    t.steps_completed, t.steps_total, t.started_at, t.finished_at, j.uuid AS job_uuid, j.status AS job_status,
    j.priority AS job_priority, j.job_type AS job_type, w.uuid AS worker_uuid,
    w.name AS worker_name, w.address AS worker_address, w.deleted_at AS worker_deleted_at"""

TASK_FROM = """tasks t JOIN jobs j ON j.id = t.job_id
    LEFT JOIN workers w ON w.id = t.worker_id"""


# The fields every task of the insert shares are literals in the statement
# (see `_task_insert`): binding them per row is a fifth of the insert's cost.
# ?1 is the id, ?2 the uuid, ?5 index_in_job; the rest are the task's own fields.
_TASK_INSERT_INTO = """INSERT INTO tasks (id, uuid, name, type, index_in_job, priority, commands, steps_total,
        deps_pending, created_at, updated_at, job_id, status, job_priority, job_tag_id, job_schedulable)"""
_SHARED_VALUES = "{created}, {created}, {job}, 'queued', {priority}, {tag}, {runnable}"
TASK_INSERT = f"{_TASK_INSERT_INTO} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {_SHARED_VALUES})"
# A run of tasks equal in all but their uuids: ?2 is a JSON array of the uuids, ?1 and ?5 the
# first task's id and index_in_job.
TASK_RUN_INSERT = (f"{_TASK_INSERT_INTO} SELECT ?1 + key, value, ?3, ?4, ?5 + key, ?6, ?7, ?8, ?9, {_SHARED_VALUES}"
                   " FROM json_each(?2)")
_TIME_LITERAL = re.compile(r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z'")

# Binding a row's values is most of what a row costs to insert (more than
# its indexes), so runs of at least RUN rows that differ in one value only
# go in one statement that reads that value from a JSON array. Big jobs are
# mostly such runs: made by loops, of like tasks on one dependency.
RUN = 16


def _task_insert(template: str, created_at: str, job_id: int, job_priority: int, job_tag_id: int | None,
                 runnable: str) -> str:
    """`template` for one job's tasks; only numbers and a timestamp made by `to_db_time` go into the text."""
    created = f"'{created_at}'"
    if not _TIME_LITERAL.fullmatch(created):
        raise ValueError(f"not a database time: {created_at!r}")
    return template.format(created=created, job=int(job_id), priority=int(job_priority),
                           tag="NULL" if job_tag_id is None else int(job_tag_id), runnable=runnable)


def run_starts(columns: Sequence[Sequence]) -> list[int] | None:
    """Where each run of rows equal in `columns` starts, or None when the runs are too short to be worth it.

    A look at the first rows decides at once for jobs whose tasks all
    differ (render chunks with their frame numbers), which then cost
    nothing extra.
    """
    size = len(columns[0])
    if size < RUN or sum(_changes([column[:4 * RUN] for column in columns])) > 4:
        return None
    starts = [0, *compress(range(1, size), _changes(columns))]
    return starts if len(starts) * RUN <= size else None


def _changes(columns: Sequence[Sequence]) -> Iterator[bool]:
    """For each row after the first, whether it differs from the one before (rows zipped one at a
    time: no tuple per row is kept for the garbage collector to count)."""
    return map(ne, zip(*(column[1:] for column in columns)), zip(*(column[:-1] for column in columns)))


def insert_task_rows(conn: sqlite3.Connection, job_id: int, created_at: str, first_index: int,
                     columns: Sequence[Sequence], *,
                     job_priority: int, job_tag_id: int | None, schedulable: bool, hidden: bool = False) -> int:
    """Insert queued tasks with consecutive ids; returns the id of the first.

    `columns` are the tasks' uuids, names, types, priorities, commands JSON,
    steps_total and deps_pending (a TaskGroup); their index_in_job counts up
    from `first_index`. Every row
    gets the scheduler's copies of its job's fields (migration 0002), with
    the job's runnability `schedulable`; but while the job is `hidden`
    (under construction), tasks that could run at once (no pending
    dependency) are stored not runnable, until `release_for_scheduling`.
    Tasks that wait for a dependency cannot run anyway, so an echo-sleep-test
    job's 100k sleeps need no release. The ids are chosen here, so the
    caller knows every id without a query per row. Runs of tasks equal in
    all but their uuids go in one statement each; other rows in an
    executemany, zipped from the columns in C, without a Python loop per
    task. The job's task counts are the caller's (`count_queued`).
    """
    uuids, names, types, priorities, commands, steps_total, deps_pending = columns
    first_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tasks").fetchone()[0]
    waiting = int(schedulable)
    ready = int(schedulable and not hidden)
    # job_schedulable: `waiting` for a task with a pending dependency (?9), else `ready`.
    runnable = str(waiting) if waiting == ready else f"(CASE WHEN ?9 != 0 THEN {waiting} ELSE {ready} END)"
    insert_rows = _task_insert(TASK_INSERT, created_at, job_id, job_priority, job_tag_id, runnable)
    starts = run_starts(columns[1:])
    if starts is None:
        conn.executemany(insert_rows, zip(count(first_id), uuids, names, types, count(first_index), priorities,
                                          commands, steps_total, deps_pending))
        return first_id
    insert_run = _task_insert(TASK_RUN_INSERT, created_at, job_id, job_priority, job_tag_id, runnable)
    for start, stop in zip(starts, [*starts[1:], len(uuids)]):
        if stop - start >= RUN:
            conn.execute(insert_run, (first_id + start, json.dumps(uuids[start:stop], ensure_ascii=False),
                                      names[start], types[start], first_index + start, priorities[start],
                                      commands[start], steps_total[start], deps_pending[start]))
        else:
            conn.executemany(insert_rows, zip(
                count(first_id + start), uuids[start:stop], names[start:stop], types[start:stop],
                count(first_index + start), priorities[start:stop], commands[start:stop], steps_total[start:stop],
                deps_pending[start:stop]))
    return first_id


def count_queued(conn: sqlite3.Connection, job_id: int, count: int) -> None:
    """The job's kept task counts grow by `count` queued tasks."""
    if count:
        conn.execute(
            """INSERT INTO job_task_counts (job_id, status, count) VALUES (?, 'queued', ?)
               ON CONFLICT (job_id, status) DO UPDATE SET count = count + excluded.count""",
            (job_id, count))


def insert_tasks(conn: sqlite3.Connection, job_id: int, created_at: str,
                 tasks: Sequence[Mapping]) -> dict[str, int]:
    """Insert a job's tasks given as dicts (uuid, name, type, priority, commands, steps_total), in
    order from index_in_job 1; returns uuid -> row id. For small jobs built in Python (tests).

    Each row gets the scheduler's copies of its job's current fields, and
    the job's task counts grow by the number of queued tasks.
    """
    if not tasks:
        return {}
    job = conn.execute(
        f"SELECT j.priority, j.worker_tag_id, {JOB_RUNNABLE} AS schedulable FROM jobs j WHERE j.id = ?",
        (job_id,)).fetchone()
    first = insert_task_rows(conn, job_id, created_at, 1, [
        [t["uuid"] for t in tasks], [t["name"] for t in tasks], [t["type"] for t in tasks],
        [t["priority"] for t in tasks], [json.dumps(t["commands"]) for t in tasks],
        [t["steps_total"] for t in tasks], [0] * len(tasks)],
        job_priority=job[0], job_tag_id=job[1], schedulable=bool(job[2]))
    count_queued(conn, job_id, len(tasks))
    return {t["uuid"]: first + offset for offset, t in enumerate(tasks)}


def insert_dependencies(conn: sqlite3.Connection, pairs: Iterable[tuple[int, int]]) -> None:
    """Record "task waits for dependency" pairs and count each task's unfinished ones."""
    pairs = list(pairs)
    conn.executemany(
        "INSERT OR IGNORE INTO task_dependencies (task_id, dependency_id) VALUES (?, ?)", pairs
    )
    conn.executemany(
        """UPDATE tasks SET deps_pending = (
               SELECT COUNT(*) FROM task_dependencies d JOIN tasks dep ON dep.id = d.dependency_id
               WHERE d.task_id = tasks.id AND dep.status != 'completed')
           WHERE id = ?""", [(task_id,) for task_id in sorted({t for t, _ in pairs})])


_DEPENDENCY_INSERT = "INSERT INTO task_dependencies (task_id, dependency_id) VALUES (?, ?)"
# Pairs sharing their dependency (column 1) or their task (column 0): ?1 is the shared id, ?2 a
# JSON array of the others.
_DEPENDENCY_RUN_INSERT = {
    1: "INSERT INTO task_dependencies (task_id, dependency_id) SELECT value, ?1 FROM json_each(?2)",
    0: "INSERT INTO task_dependencies (task_id, dependency_id) SELECT ?1, value FROM json_each(?2)",
}


def insert_counted_dependencies(conn: sqlite3.Connection, task_ids: Sequence[int],
                                dependency_ids: Sequence[int]) -> None:
    """Record distinct (task id, dependency id) pairs, given as two columns, whose tasks' deps_pending
    already counts them.

    Runs of pairs on one dependency (many tasks after one, as in an
    echo-sleep-test job) or of one task (a video after all the frames) go
    in one statement each (see RUN).
    """
    columns = [task_ids, dependency_ids]
    for shared in (1, 0):
        starts = run_starts([columns[shared]])
        if starts is None:
            continue
        rest: list[list[int]] = [[], []]
        for start, stop in zip(starts, [*starts[1:], len(columns[0])]):
            if stop - start >= RUN:
                conn.execute(_DEPENDENCY_RUN_INSERT[shared],
                             (columns[shared][start], json.dumps(columns[1 - shared][start:stop])))
            else:
                rest[0] += columns[0][start:stop]
                rest[1] += columns[1][start:stop]
        columns = rest
    conn.executemany(_DEPENDENCY_INSERT, zip(*columns))


def release_for_scheduling(conn: sqlite3.Connection, job_id: int, first_id: int, last_id: int) -> int:
    """Give a job's waiting tasks with ids in [first_id, last_id] the job's runnability; returns how many changed.

    For the tasks `insert_task_rows` stored not runnable while their job was
    hidden: once it is shown, this adds them to the scheduler's index a
    batch at a time (migration 0005).
    """
    return conn.execute(
        """UPDATE tasks SET job_schedulable = :runnable
           WHERE job_id = :job AND id BETWEEN :first AND :last AND status IN ('queued', 'soft-failed')
             AND job_schedulable != :runnable""",
        {"job": job_id, "first": first_id, "last": last_id, "runnable": conn.execute(
            f"SELECT {JOB_RUNNABLE} FROM jobs j WHERE j.id = ?",
            (job_id,)).fetchone()[0]}).rowcount


def release_interrupted(conn: sqlite3.Connection) -> int:
    """Waiting tasks of runnable jobs that are still marked not runnable (a stop mid-release); fixes them."""
    return conn.execute(
        f"""UPDATE tasks SET job_schedulable = 1
           WHERE job_id IN (SELECT j.id FROM jobs j WHERE {JOB_RUNNABLE})
             AND status IN ('queued', 'soft-failed') AND job_schedulable = 0""").rowcount


def unschedule_some_of_job(conn: sqlite3.Connection, job_id: int, status: str, after_id: int,
                           limit: int) -> tuple[int, int]:
    """Mark the next `limit` of a job's tasks in `status` (by id, after `after_id`) not runnable.

    Returns (tasks looked at, the last id looked at). Before a job is marked
    for deletion, so that marking it (migration 0009's trigger) finds its
    tasks not runnable already and rewrites none. Each batch is one seek in
    `tasks_job_status`, whose rows for one status are in id order.
    """
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM tasks INDEXED BY tasks_job_status WHERE job_id = ? AND status = ? AND id > ? "
        "ORDER BY id LIMIT ?", (job_id, status, after_id, limit))]
    if not ids:
        return 0, after_id
    conn.execute(
        """UPDATE tasks SET job_schedulable = 0
           WHERE id BETWEEN ? AND ? AND job_id = ? AND status = ? AND job_schedulable = 1""",
        (ids[0], ids[-1], job_id, status))
    return len(ids), ids[-1]


def job_is_runnable(conn: sqlite3.Connection, job_id: int) -> bool:
    """Whether the job's waiting tasks may be handed out (its status, deletion mark and dependencies)."""
    row = conn.execute(f"SELECT {JOB_RUNNABLE} FROM jobs j WHERE j.id = ?", (job_id,)).fetchone()
    return bool(row and row[0])


def reschedule_job(conn: sqlite3.Connection, job_id: int) -> int:
    """Undo `unschedule_some_of_job` for a job whose deletion was refused after all."""
    return conn.execute(
        f"""UPDATE tasks SET job_schedulable = 1
           WHERE job_id = ? AND status IN ('queued', 'soft-failed') AND job_schedulable = 0
             AND job_id IN (SELECT j.id FROM jobs j WHERE {JOB_RUNNABLE})""", (job_id,)).rowcount


def delete_some_of_job(conn: sqlite3.Connection, job_id: int, limit: int) -> int:
    """Delete up to `limit` of a job's tasks, newest first; returns how many.

    Their own dependency rows go explicitly, and newest first means the
    tasks that depend on a task are gone before it is: the cascades of one
    batch stay as small as the batch (deleting the echo task of an
    echo-sleep-test job first would cascade to 100k dependency rows).
    """
    batch = "SELECT id FROM tasks WHERE job_id = ? ORDER BY index_in_job DESC LIMIT ?"
    conn.execute(f"DELETE FROM task_dependencies WHERE task_id IN ({batch})", (job_id, limit))
    return conn.execute(f"DELETE FROM tasks WHERE id IN ({batch})", (job_id, limit)).rowcount


def rebuild_derived(conn: sqlite3.Connection) -> None:
    """Recompute every kept copy and count from the tables themselves.

    For tools that fill the tables with plain SQL (benchmarks, imports): the
    scheduler's copies of job fields, pending-dependency counts (of tasks and of jobs) and the
    per-job task counts that migration 0002's triggers keep afterwards.
    """
    conn.execute("DELETE FROM dependency_releases")  # the counts below are whole already
    conn.execute(
        """UPDATE jobs SET deps_pending = (
               SELECT COUNT(*) FROM job_dependencies d JOIN jobs dep ON dep.id = d.dependency_id
               WHERE d.job_id = jobs.id AND dep.status != 'completed')
           WHERE deps_pending != 0 OR id IN (SELECT job_id FROM job_dependencies)""")
    conn.execute(
        f"""UPDATE tasks SET
               job_priority = (SELECT j.priority FROM jobs j WHERE j.id = tasks.job_id),
               job_tag_id = (SELECT j.worker_tag_id FROM jobs j WHERE j.id = tasks.job_id),
               job_schedulable = (SELECT {JOB_RUNNABLE} FROM jobs j WHERE j.id = tasks.job_id),
               deps_pending = (SELECT COUNT(*) FROM task_dependencies d JOIN tasks dep ON dep.id = d.dependency_id
                               WHERE d.task_id = tasks.id AND dep.status != 'completed')""")
    conn.execute("DELETE FROM job_task_counts")
    conn.execute("""INSERT INTO job_task_counts (job_id, status, count)
                    SELECT job_id, status, COUNT(*) FROM tasks GROUP BY job_id, status""")


def fetch_by_uuid(conn: sqlite3.Connection, uuid: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.uuid = ?", (uuid,)).fetchone()


def fetch_with_job_counts(conn: sqlite3.Connection, uuid: str) -> tuple[sqlite3.Row, Counter] | None:
    """`fetch_by_uuid` and its job's task counts per status (`jobs.status_and_task_counts`), in one read.

    For a Worker's report, which changes this one task's status: the counts
    after that change follow from these (`apply.change_task_status`).
    """
    row = conn.execute(
        f"""SELECT {TASK_COLUMNS}, (SELECT json_group_object(c.status, c.count) FROM job_task_counts c
                                    WHERE c.job_id = t.job_id AND c.count > 0) AS job_task_counts
            FROM {TASK_FROM} WHERE t.uuid = ?""", (uuid,)).fetchone()
    if row is None:
        return None
    return row, Counter(json.loads(row["job_task_counts"]))


def fetch_by_id(conn: sqlite3.Connection, task_id: int) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.id = ?", (task_id,)).fetchone()


def iter_for_job(conn: sqlite3.Connection, job_id: int, limit: int = -1, offset: int = 0) -> Iterator[sqlite3.Row]:
    """Tasks of a job in creation order, `limit` -1 for all; a cursor, so 100k rows need not all be in memory."""
    return conn.execute(
        f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.job_id = ? ORDER BY t.index_in_job LIMIT ? OFFSET ?",
        (job_id, limit, offset))


def dependency_uuids(conn: sqlite3.Connection, task_id: int) -> list[str]:
    return [r[0] for r in conn.execute(
        """SELECT t.uuid FROM task_dependencies d JOIN tasks t ON t.id = d.dependency_id
           WHERE d.task_id = ? ORDER BY t.index_in_job""", (task_id,))]


def failed_by_workers(conn: sqlite3.Connection, task_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT w.uuid, w.name, w.address, w.deleted_at FROM task_failures f JOIN workers w ON w.id = f.worker_id
           WHERE f.task_id = ? ORDER BY f.created_at""", (task_id,)).fetchall()


def set_status(conn: sqlite3.Connection, task_id: int, status: str, activity: str | None = None) -> None:
    if activity is None:
        conn.execute("UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?", (status, utcnow(), task_id))
    else:
        conn.execute("UPDATE tasks SET status = ?, activity = ?, updated_at = ? WHERE id = ?",
                     (status, activity[:255], utcnow(), task_id))


# A `TaskClock` (state_machine.rules) as assignments to the run times, and when they apply
# (a row they would not change is not rewritten): the one definition of what each clock does.
# Parameters by position (cheaper to bind than names): ?1 the task id, ?2 now.
_CLOCK = {
    "start": ((("started_at", "?2"), ("finished_at", "NULL")), ""),
    "finish": ((("finished_at", "?2"),), "started_at IS NOT NULL"),
    "clear": ((("started_at", "NULL"), ("finished_at", "NULL")), "started_at IS NOT NULL OR finished_at IS NOT NULL"),
}
# For many tasks (set_clock): one UPDATE per task, only where the clock applies.
_CLOCK_SQL = {
    clock: f"UPDATE tasks SET {', '.join(f'{column} = {value}' for column, value in sets)} WHERE id = ?1"
           + (f" AND ({only_where})" if only_where else "")
    for clock, (sets, only_where) in _CLOCK.items()}
# For one task's status UPDATE (change_status): the same, as CASEs in its SET list.
_CLOCK_SET = {"keep": "", **{
    clock: "".join(f", {column} = CASE WHEN {only_where} THEN {value} ELSE {column} END" if only_where
                   else f", {column} = {value}" for column, value in sets)
    for clock, (sets, only_where) in _CLOCK.items()}}


def set_clock(conn: sqlite3.Connection, job_id: int, task_ids: Sequence[int], clock: str) -> None:
    """Apply a `TaskClock` (state_machine.rules) to some of a job's tasks' run times; "keep" does nothing.

    "finish-if-active" looks at the stored status (the job's few active
    tasks, found by index), so it must run before the status changes: mass
    updates know only the new status.
    """
    now = utcnow()
    if str(clock) == "finish-if-active":
        active = {r[0] for r in conn.execute(
            "SELECT id FROM tasks WHERE job_id = ? AND status = 'active'", (job_id,))}
        task_ids, clock = [i for i in task_ids if i in active], "finish"
    sql = _CLOCK_SQL.get(str(clock))
    if sql is None or not task_ids:
        return
    conn.executemany(sql, [(task_id, now) for task_id in task_ids] if "?2" in sql else [(i,) for i in task_ids])


def change_status(conn: sqlite3.Connection, task_id: int, status: str, *, clock: str,
                  activity: str | None = None, steps_completed: int | None = None,
                  worker_id: int | None = None, touched: bool = False) -> sqlite3.Row:
    """One task's new status with its run times (`TaskClock` "start", "finish", "clear" or "keep"),
    activity, progress, the Worker it is assigned to and its last touch, in one UPDATE; returns the
    columns an event shows.

    The hot path of every hand-out and completion: one statement where there
    were four. Mass changes use `mass_set_status` and `set_clock`.
    """
    optional = [value for value in (None if activity is None else activity[:255], steps_completed, worker_id)
                if value is not None]
    sql = _change_status_sql(str(clock), activity is not None, steps_completed is not None, worker_id is not None,
                             touched or worker_id is not None)
    return conn.execute(sql, (task_id, utcnow(), status, *optional)).fetchone()


@functools.cache
def _change_status_sql(clock: str, activity: bool, steps: bool, worker: bool, touched: bool) -> str:
    """`change_status`'s UPDATE: ?1 id, ?2 now, ?3 status, then activity, steps, worker as given."""
    sets = "status = ?3, updated_at = ?2" + _CLOCK_SET[clock]
    n = 3
    for column, given in (("activity", activity), ("steps_completed", steps), ("worker_id", worker)):
        if given:
            n += 1
            sets += f", {column} = ?{n}"
    if touched:
        sets += ", last_touched_at = ?2"
    return f"""UPDATE tasks SET {sets} WHERE id = ?1
               RETURNING updated_at, status, activity, steps_completed, started_at, finished_at, worker_id,
                         last_touched_at"""


def add_job_steps(conn: sqlite3.Connection, job_id: int, delta: int, now: str) -> None:
    """Move a job's sum of completed steps by a task's change (no rescan of big jobs)."""
    conn.execute("UPDATE jobs SET steps_completed = steps_completed + ?, updated_at = ? WHERE id = ?",
                 (delta, now, job_id))


def set_activity(conn: sqlite3.Connection, task_id: int, activity: str) -> None:
    conn.execute("UPDATE tasks SET activity = ?, updated_at = ? WHERE id = ?", (activity[:255], utcnow(), task_id))


def set_steps(conn: sqlite3.Connection, task_id: int, job_id: int, old: int, new: int) -> None:
    """A task's progress; the job's sum moves by the difference (no rescan of big jobs)."""
    now = utcnow()
    conn.execute("UPDATE tasks SET steps_completed = ?, updated_at = ? WHERE id = ?", (new, now, task_id))
    add_job_steps(conn, job_id, new - old, now)


def touch(conn: sqlite3.Connection, task_id: int, activity: str | None = None) -> None:
    """The Worker still works on the task; with `activity`, also what it is doing (one UPDATE for both)."""
    now = utcnow()
    if activity is None:
        conn.execute("UPDATE tasks SET last_touched_at = ? WHERE id = ?", (now, task_id))
    else:
        conn.execute("UPDATE tasks SET activity = ?, updated_at = ?, last_touched_at = ? WHERE id = ?",
                     (activity[:255], now, now, task_id))


def add_failure(conn: sqlite3.Connection, task_id: int, worker_id: int) -> None:
    conn.execute("INSERT OR IGNORE INTO task_failures (created_at, task_id, worker_id) VALUES (?, ?, ?)",
                 (utcnow(), task_id, worker_id))


def count_failures(conn: sqlite3.Connection, task_id: int) -> int:
    return conn.execute("SELECT COUNT(*) FROM task_failures WHERE task_id = ?", (task_id,)).fetchone()[0]


def worker_failures_of_type(conn: sqlite3.Connection, job_id: int, worker_id: int, task_type: str) -> int:
    return conn.execute(
        """SELECT COUNT(*) FROM task_failures f JOIN tasks t ON t.id = f.task_id
           WHERE t.job_id = ? AND f.worker_id = ? AND t.type = ?""",
        (job_id, worker_id, task_type)).fetchone()[0]


def clear_failures(conn: sqlite3.Connection, task_id: int) -> None:
    conn.execute("DELETE FROM task_failures WHERE task_id = ?", (task_id,))


def active_for_worker(conn: sqlite3.Connection, worker_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        f"SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.worker_id = ? AND t.status = 'active'",
        (worker_id,)).fetchall()


def failed_by_worker_in_job(conn: sqlite3.Connection, job_id: int, worker_id: int, task_type: str) -> list[int]:
    return [r[0] for r in conn.execute(
        """SELECT id FROM tasks WHERE job_id = ? AND worker_id = ? AND type = ? AND status = 'failed'""",
        (job_id, worker_id, task_type))]


def mass_set_status(conn: sqlite3.Connection, task_ids: list[int], status: str, activity: str) -> None:
    now = utcnow()
    conn.executemany("UPDATE tasks SET status = ?, activity = ?, updated_at = ? WHERE id = ?",
                     [(status, activity[:255], now, i) for i in task_ids])


def steps_follow_status(conn: sqlite3.Connection, job_id: int) -> None:
    """After a requeue: completed tasks count as fully done, queued ones as not started."""
    conn.execute(
        """UPDATE tasks SET steps_completed = CASE status WHEN 'completed' THEN steps_total ELSE 0 END
           WHERE job_id = ? AND status IN ('completed', 'queued')""", (job_id,))


def timed_out(conn: sqlite3.Connection, touched_before: str) -> list[sqlite3.Row]:
    return conn.execute(
        f"""SELECT {TASK_COLUMNS} FROM {TASK_FROM}
            WHERE t.status = 'active' AND t.last_touched_at IS NOT NULL AND t.last_touched_at <= ?""",
        (touched_before,)).fetchall()
