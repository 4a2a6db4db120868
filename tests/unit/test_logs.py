"""Task log files: layout, newline handling, the 2 KiB tail rule, path safety."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.local_storage.task_logs import TAIL_BYTES, TaskLogs
from flamenco_pkg.manager.local_storage.paths import UnsafePath

JOB = "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc"
TASK = "99998888-7777-4666-8555-444433332222"


def test_layout_and_newlines(tmp_path):
    logs = TaskLogs(tmp_path)
    assert logs.append(JOB, TASK, "") == ""
    assert logs.append(JOB, TASK, "first") == "first\n"
    logs.append(JOB, TASK, "second\n")
    path = tmp_path / f"job-0f1e/{JOB}/task-{TASK}.txt"
    assert path.read_text() == "first\nsecond\n"
    assert logs.url(JOB, TASK) == f"/job-files/job-0f1e/{JOB}/task-{TASK}.txt"
    assert logs.size(JOB, TASK) == len("first\nsecond\n")


def test_tail_of_small_log_is_whole_log(tmp_path):
    logs = TaskLogs(tmp_path)
    assert logs.tail(JOB, TASK) == ""
    logs.append(JOB, TASK, "a\nb")
    assert logs.tail(JOB, TASK) == "a\nb\n"


def test_tail_cuts_at_a_line_boundary(tmp_path):
    logs = TaskLogs(tmp_path)
    lines = [f"line {i:04d} " + "x" * 40 for i in range(200)]
    logs.append(JOB, TASK, "\n".join(lines))
    tail = logs.tail(JOB, TASK)
    assert len(tail.encode()) <= TAIL_BYTES
    assert tail.endswith(lines[-1] + "\n")
    first = tail.splitlines()[0]
    assert first in lines, "the partial first line must be dropped"


def test_tail_without_newline_in_window_keeps_bytes(tmp_path):
    logs = TaskLogs(tmp_path)
    logs.append(JOB, TASK, "y" * 5000)
    tail = logs.tail(JOB, TASK)
    assert tail == "y" * (TAIL_BYTES - 1) + "\n"


@pytest.mark.parametrize("job,task", [("../../etc", TASK), (JOB, "../../../passwd"), ("/abs", TASK)])
def test_paths_cannot_escape(tmp_path, job, task):
    with pytest.raises(UnsafePath):
        TaskLogs(tmp_path).path(job, task)
