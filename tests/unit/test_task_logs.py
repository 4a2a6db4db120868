"""Task log files: bounded locks, and no folder left behind by a late append after a job's removal."""

from __future__ import annotations

import os

import pytest

import uuid

from flamenco_pkg.manager.local_storage import task_logs as task_logs_mod
from flamenco_pkg.manager.local_storage.task_logs import TaskLogs


def new_id() -> str:
    return str(uuid.uuid4())


def test_locks_do_not_grow_with_the_number_of_tasks(tmp_path):
    logs = TaskLogs(tmp_path)
    job = new_id()
    for _ in range(3 * task_logs_mod.LOCK_COUNT):
        logs.append(job, new_id(), "line")
    for _ in range(3 * task_logs_mod.LOCK_COUNT):
        logs.append(new_id(), new_id(), "line")
    assert len(logs._locks) == task_logs_mod.LOCK_COUNT
    assert len(list((tmp_path / f"job-{job[:4]}" / job).iterdir())) == 3 * task_logs_mod.LOCK_COUNT


def test_append_and_tail(tmp_path):
    logs = TaskLogs(tmp_path)
    job, task = new_id(), new_id()
    assert logs.append(job, task, "first") == "first\n"
    assert logs.append(job, task, "") == ""
    logs.append(job, task, "second\n")
    assert logs.tail(job, task) == "first\nsecond\n"
    assert logs.size(job, task) == len("first\nsecond\n")


def test_remove_job_removes_its_folders_and_drops_late_appends(tmp_path):
    logs = TaskLogs(tmp_path)
    job, task, other = new_id(), new_id(), new_id()
    logs.append(job, task, "before the deletion")
    logs.append(other, new_id(), "another job")
    logs.remove_job(job)
    assert not (tmp_path / f"job-{job[:4]}" / job).exists()
    assert logs.append(job, task, "a late line") == ""
    assert not (tmp_path / f"job-{job[:4]}" / job).exists()
    assert logs.tail(job, task) == ""
    assert logs.append(other, new_id(), "still fine") == "still fine\n"  # other jobs are untouched


def test_remove_job_keeps_a_shared_prefix_folder(tmp_path):
    logs = TaskLogs(tmp_path)
    job = new_id()
    sibling = job[:4] + new_id()[4:]  # same job-XXXX folder
    logs.append(job, new_id(), "x")
    logs.append(sibling, new_id(), "y")
    logs.remove_job(job)
    assert (tmp_path / f"job-{job[:4]}" / sibling).is_dir()
    logs.remove_job(sibling)
    assert not (tmp_path / f"job-{job[:4]}").exists()
    assert tmp_path.is_dir()


def test_removed_jobs_remembered_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(task_logs_mod, "REMEMBERED_REMOVALS", 5)
    logs = TaskLogs(tmp_path)
    for _ in range(20):
        logs.remove_job(new_id())
    assert len(logs._removed) == 5


def test_logs_kept_open_are_bounded_and_lines_land_in_their_own_files(tmp_path):
    logs = TaskLogs(tmp_path)
    logs.open_limit = 3
    job = new_id()
    tasks = [new_id() for _ in range(8)]
    for round_ in range(3):  # more files than kept open: some are closed and opened again
        for task in tasks:
            logs.append(job, task, f"{task[:8]} line {round_}")
    assert len(logs._open) == 3
    for task in tasks:
        assert logs.tail(job, task) == "".join(f"{task[:8]} line {r}\n" for r in range(3))
    logs.remove_job(job)  # closes its files before removing them
    assert logs._open == {}
    logs.close()


def test_a_failed_append_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    logs = TaskLogs(tmp_path)
    job, task = new_id(), new_id()
    logs.append(job, task, "kept")
    real_write = os.write
    calls = []

    def write_half_then_fail(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:3]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(task_logs_mod.os, "write", write_half_then_fail)
    with pytest.raises(OSError):
        logs.append(job, task, "lost line")
    monkeypatch.setattr(task_logs_mod.os, "write", real_write)
    assert logs.tail(job, task) == "kept\n"
    logs.append(job, task, "after")
    assert logs.tail(job, task) == "kept\nafter\n"


def test_the_writer_process_keeps_the_order_lines_were_queued_in(tmp_path):
    """Queued lines (the Manager's own) and waited-for lines (a Worker's) land in the order asked,
    and a tail read queued after them sees them all; the files are written by another process."""
    from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogWriter

    writer = TaskLogWriter(TaskLogs(tmp_path))
    job, task = new_id(), new_id()
    written = []

    def done(lines, error, asked):
        assert error is None
        written.extend(text for _job, _task, text in lines)

    writer.on_written = done
    for i in range(100):
        if i % 10 == 9:
            lines, error = writer.append([(job, task, f"line {i}")])
            assert error is None and lines == [(job, task, f"line {i}\n")]
        else:
            writer.append_later([(job, task, f"line {i}")])
    tail = writer.tail(job, task)
    assert tail.splitlines()[-1] == "line 99"
    content = writer.logs.path(job, task).read_text().splitlines()
    assert content == [f"line {i}" for i in range(100)]
    assert writer._run("pid") != os.getpid()  # not written by the Manager's process
    writer.close()
    assert len(written) == 90  # every queued line was reported back


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_an_evicted_log_is_closed_and_its_later_lines_land_after_the_earlier_ones(tmp_path):
    logs = TaskLogs(tmp_path)
    logs.open_limit = 2
    job = new_id()
    first, second, third = new_id(), new_id(), new_id()
    logs.append(job, first, "assigned")
    fd_first = logs._open[(job, first)]
    logs.append(job, second, "assigned")
    logs.append(job, first, "queued -> active")  # a hit: the least recently used is now `second`
    fd_second = logs._open[(job, second)]
    logs.append(job, third, "assigned")  # evicts `second`, not `first`
    assert list(logs._open) == [(job, first), (job, third)]
    assert not _is_open(fd_second)
    assert _is_open(fd_first)
    logs.append(job, second, "active -> completed")  # opened again, appended at the end
    assert logs.tail(job, second) == "assigned\nactive -> completed\n"
    assert logs.tail(job, first) == "assigned\nqueued -> active\n"
    logs.close()
    assert logs._open == {} and not _is_open(fd_first)


def test_removing_a_job_closes_its_open_logs_and_leaves_other_jobs_open(tmp_path):
    logs = TaskLogs(tmp_path)
    job, other = new_id(), new_id()
    mine = [new_id() for _ in range(3)]
    for task in mine:
        logs.append(job, task, "line")
    other_task = new_id()
    logs.append(other, other_task, "line")
    fds = [logs._open[(job, task)] for task in mine]
    logs.remove_job(job)
    assert not any(_is_open(fd) for fd in fds)
    assert list(logs._open) == [(other, other_task)]
    assert not (tmp_path / f"job-{job[:4]}" / job).exists()
    logs.append(other, other_task, "still open")
    assert logs.tail(other, other_task) == "line\nstill open\n"
    logs.close()


def test_a_write_that_fails_outright_changes_nothing_and_a_short_one_is_completed(tmp_path, monkeypatch):
    logs = TaskLogs(tmp_path)
    job, task = new_id(), new_id()
    logs.append(job, task, "kept")
    real_write = os.write

    def fail(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(task_logs_mod.os, "write", fail)
    with pytest.raises(OSError):
        logs.append(job, task, "lost")
    calls = []

    def short(fd, data):  # what a signal or a nearly full disk can do
        calls.append(len(data))
        return real_write(fd, bytes(data[:2]))

    monkeypatch.setattr(task_logs_mod.os, "write", short)
    assert logs.append(job, task, "whole") == "whole\n"
    monkeypatch.setattr(task_logs_mod.os, "write", real_write)
    assert len(calls) == 3
    assert logs.tail(job, task) == "kept\nwhole\n"
    logs.close()


def test_logs_kept_open_fit_the_descriptor_limit(tmp_path):
    assert task_logs_mod.open_logs_limit(1024) == 128  # a common default leaves most for sockets
    assert task_logs_mod.open_logs_limit(20_000) == 2048  # enough for a completion 1000 hand-outs later
    assert task_logs_mod.open_logs_limit(64) == 16
    assert 16 <= TaskLogs(tmp_path).open_limit <= 2048


def test_the_writer_writes_what_is_queued_then_its_process_ends(tmp_path):
    from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogWriter

    writer = TaskLogWriter(TaskLogs(tmp_path))
    job, task = new_id(), new_id()
    writer.append_later([(job, task, "assigned\nqueued -> active")])
    lines, error = writer.append([(job, task, "active -> completed")])
    assert error is None
    proc = writer._child.proc
    writer.append_later([(job, task, "queued last")])
    writer.close()
    assert proc.poll() == 0  # ended by the closed pipe, not killed
    assert writer.path(job, task).read_text() == "assigned\nqueued -> active\nactive -> completed\nqueued last\n"


def test_a_killed_writer_process_fails_what_it_owed_and_the_next_lines_start_another(tmp_path, caplog):
    import signal

    from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogWriter

    writer = TaskLogWriter(TaskLogs(tmp_path))
    job, task = new_id(), new_id()
    writer.append([(job, task, "before")])
    first = writer._child.proc
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogsUnavailable

    with pytest.raises(TaskLogsUnavailable) as refused:
        writer.tail(job, task)  # sent before the Manager noticed: answered with the failure
    assert refused.value.status == 503
    assert writer.append([(job, task, "after")])[1] is None  # a new process
    assert writer._child.proc.pid != first.pid
    assert writer.tail(job, task) == "before\nafter\n"
    writer.close()


def test_the_writer_process_ignores_the_stop_signals_a_terminal_or_service_manager_sends_the_group(tmp_path):
    """Ctrl-C reaches the whole process group: the Manager's shutdown still writes the queued lines."""
    import signal

    from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogWriter

    writer = TaskLogWriter(TaskLogs(tmp_path))
    job, task = new_id(), new_id()
    writer.append([(job, task, "first")])
    for sig in (signal.SIGINT, signal.SIGTERM):
        os.kill(writer._child.proc.pid, sig)
    writer.append_later([(job, task, "queued while stopping")])
    proc = writer._child.proc
    writer.close()
    assert proc.returncode == 0
    assert writer.path(job, task).read_text() == "first\nqueued while stopping\n"
