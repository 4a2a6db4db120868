"""Runs of like tasks and dependencies are stored by one statement each, with the same rows as one by one."""

from __future__ import annotations

import random
from itertools import count

import pytest

from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db.connection import Database

CREATED = "2026-11-30T12:00:00.000000Z"


def new_job(db: Database) -> int:
    with db.tx() as conn:
        return job_db.insert_job(conn, uuid=f"job-{random.random()}", name="j", job_type="t", priority=50,
                                 status="under-construction", settings={}, metadata={}, worker_tag_id=None,
                                 shaman_checkout_id="", created_at=CREATED, submitted_by=None)


def columns(rows: list[tuple]) -> list[list]:
    uuids = [f"uuid-{i:06d}" for i in range(len(rows))]
    return [uuids, *map(list, zip(*rows))]


def mixed_rows(rng: random.Random) -> list[tuple]:
    """Runs of equal tasks (long and short) between tasks that all differ."""
    rows: list[tuple] = []
    while len(rows) < 3000:
        kind = rng.random()
        if kind < 0.4:  # a run of like tasks
            row = (rng.choice(["sleep", "render"]), "misc", rng.choice([50, 60]),
                   '[{"name":"sleep","parameters":{"duration_in_seconds":%d},"total_step_count":0}]' % rng.randint(1, 3),
                   1, rng.randint(0, 2))
            rows += [row] * rng.choice([1, 2, task_db.RUN - 1, task_db.RUN, task_db.RUN + 1, 500])
        else:  # tasks that differ in one field or another
            for _ in range(rng.randint(1, 40)):
                rows.append((f"frame-{len(rows)}", "blender", 50, f'[{{"frame":{len(rows)}}}]', 1, 0))
    return rows


def stored(db: Database, job_id: int) -> list[tuple]:
    with db.tx() as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT * FROM tasks WHERE job_id = ? ORDER BY id", (job_id,)).fetchall()]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("hidden", [False, True])
def test_runs_store_the_same_rows_as_one_by_one(tmp_path, seed, hidden):
    rng = random.Random(seed)
    rows = mixed_rows(rng)
    given = columns(rows)
    db = Database(tmp_path / "runs.sqlite")
    ours, reference = new_job(db), new_job(db)
    with db.tx() as conn:
        first = task_db.insert_task_rows(conn, ours, CREATED, 7, given, job_priority=40, job_tag_id=None,
                                         schedulable=True, hidden=hidden)
        # The reference: every row bound on its own, as before runs.
        ref_first = conn.execute("SELECT MAX(id) + 1 FROM tasks").fetchone()[0]
        runnable = "(CASE WHEN ?9 != 0 THEN 1 ELSE 0 END)" if hidden else "1"
        conn.executemany(task_db._task_insert(task_db.TASK_INSERT, CREATED, reference, 40, None, runnable),
                         zip(count(ref_first), [f"ref-{u}" for u in given[0]], *given[1:3], count(7), *given[3:]))
    ours_rows, reference_rows = stored(db, ours), stored(db, reference)
    assert [r[0] for r in ours_rows] == list(range(first, first + len(rows)))
    # The same rows but for their ids, uuids and job.
    strip = lambda r: r[1:3] + r[4:6] + r[7:]  # noqa: E731 - without id, uuid and job_id
    assert [strip(r) for r in ours_rows] == [strip(r) for r in reference_rows]
    assert [r[3] for r in ours_rows] == given[0]


def test_a_run_of_like_tasks_is_one_statement(tmp_path):
    db = Database(tmp_path / "one.sqlite")
    job_id = new_job(db)
    rows = [("echo", "misc", 50, "[]", 1, 0)] + [("sleep", "misc", 50, '[{"name":"sleep"}]', 1, 1)] * 5000
    statements: list[str] = []
    with db.tx() as conn:
        conn.set_trace_callback(statements.append)
        first = task_db.insert_task_rows(conn, job_id, CREATED, 1, columns(rows), job_priority=50,
                                         job_tag_id=None, schedulable=True)
        task_db.insert_counted_dependencies(conn, [first + i for i in range(1, len(rows))], [first] * (len(rows) - 1))
        conn.set_trace_callback(None)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) <= 3, inserts[:5]  # the echo task, the sleeps, their dependencies
    with db.tx() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tasks WHERE job_id = ?", (job_id,)).fetchone()[0] == 5001
        assert tuple(conn.execute("SELECT COUNT(*), MIN(task_id), MAX(task_id), MIN(dependency_id), "
                                  "MAX(dependency_id) FROM task_dependencies").fetchone()) == (
            5000, first + 1, first + 5000, first, first)


def test_tasks_that_all_differ_are_bound_row_by_row(tmp_path):
    assert task_db.run_starts([[f"frame-{i}" for i in range(1000)]]) is None
    assert task_db.run_starts([["a"] * 40 + ["b"] * 20 + ["c"]]) == [0, 40, 60]
    assert task_db.run_starts([["a"] * 5]) is None  # too few to be worth a statement


@pytest.mark.parametrize("seed", range(6))
def test_dependency_runs_store_every_pair_once(tmp_path, seed):
    rng = random.Random(seed)
    db = Database(tmp_path / "deps.sqlite")
    job_id = new_job(db)
    n = 2000
    with db.tx() as conn:
        first = task_db.insert_task_rows(conn, job_id, CREATED, 1, columns([("t", "misc", 50, "[]", 1, 0)] * n),
                                         job_priority=50, job_tag_id=None, schedulable=True)
    pairs: list[tuple[int, int]] = []
    task = first + 100
    while task < first + n - 1:
        shape = rng.random()
        if shape < 0.3:  # fan-out: a run of tasks on one dependency
            dependency = rng.randrange(first, first + 100)
            for _ in range(rng.choice([1, task_db.RUN - 1, task_db.RUN, 200])):
                if task < first + n - 1:
                    pairs.append((task, dependency))
                    task += 1
        elif shape < 0.6:  # fan-in: one task on a run of dependencies
            pairs += [(task, d) for d in rng.sample(range(first, first + 100), rng.choice([2, task_db.RUN, 60]))]
            task += 1
        else:  # a chain
            pairs.append((task, task - 1))
            task += 1
    assert len(set(pairs)) == len(pairs)
    with db.tx() as conn:
        task_db.insert_counted_dependencies(conn, [t for t, _ in pairs], [d for _, d in pairs])
        stored_pairs = conn.execute("SELECT task_id, dependency_id FROM task_dependencies").fetchall()
    assert sorted(map(tuple, stored_pairs)) == sorted(pairs)
