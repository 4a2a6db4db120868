"""Runs one command's program and kills its whole process tree when told to.

The child gets its own session (POSIX) or process group (Windows), so a
cancelled task takes Blender *and* anything Blender started with it, and no
orphan keeps the output pipe open. Output (stderr merged into stdout) is read
in pieces of at most 40 KiB that never split a UTF-8 character.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO

from .commands.params import CommandError, TaskCanceled
from .slotlog import child_thread_name

log = logging.getLogger("flamenco.worker.process")

LINE_LIMIT = 40960
IS_WINDOWS = sys.platform.startswith("win")


def utf8_cut(data: bytes) -> int:
    """Index at which `data` can be cut without splitting a UTF-8 character."""
    end = len(data)
    j = end - 1
    while j >= 0 and end - j <= 4 and (data[j] & 0xC0) == 0x80:
        j -= 1
    if j < 0:
        return end
    lead = data[j]
    if lead >= 0xF0:
        need = 4
    elif lead >= 0xE0:
        need = 3
    elif lead >= 0xC0:
        need = 2
    else:
        need = 1
    return j if end - j < need else end


def read_lines(stream: IO[bytes], limit: int = LINE_LIMIT) -> Iterator[str]:
    """Lines of `stream` without their line ending; long lines come in `limit`-byte pieces."""
    carry = b""
    while True:
        piece = stream.readline(limit - len(carry))
        data = carry + piece
        carry = b""
        if not data:
            return
        if data.endswith(b"\n"):
            yield data.rstrip(b"\r\n").decode("utf-8", "replace")
            continue
        if piece and len(data) >= limit:
            cut = utf8_cut(data)
            if 0 < cut < len(data):
                carry = data[cut:]
                data = data[:cut]
        yield data.decode("utf-8", "replace")
        if not piece:
            return


def quote_argv(argv: list[str]) -> str:
    """The command line as a person would paste it into a POSIX shell."""
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


def _oom_preexec(value: int) -> Callable[[], None]:
    def set_oom() -> None:
        try:
            with open("/proc/self/oom_score_adj", "w", encoding="ascii") as f:
                f.write(str(value))
        except OSError:
            pass  # never stop the command for this; the Worker logged the setting at start-up

    return set_oom


def start(argv: list[str], oom_score_adjust: int | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `argv` directly (no shell) in a process group of its own, stdin empty.

    `env` is added to the Worker's own environment (a GPU slot's device selection).
    """
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    if env:
        kwargs["env"] = {**os.environ, **env}
    if IS_WINDOWS:
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        kwargs["start_new_session"] = True
        if oom_score_adjust is not None and sys.platform.startswith("linux"):
            kwargs["preexec_fn"] = _oom_preexec(oom_score_adjust)
    return subprocess.Popen(argv, **kwargs)


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill the process and every process in its group/tree, at once (no grace period)."""
    if IS_WINDOWS:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # session leader: its pid is the group id
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        log.warning("could not kill process group %d: %s", proc.pid, exc)
        proc.kill()


def run_process(argv: list[str], on_line: Callable[[str], None], cancel: threading.Event,
                oom_score_adjust: int | None = None, on_start: Callable[[int], None] | None = None,
                env: dict[str, str] | None = None) -> None:
    """Run to the end, feeding each output line to `on_line`.

    Raises TaskCanceled when `cancel` was set (the tree is killed), CommandError
    on a start failure or non-zero exit, and whatever `on_line` raised (the tree
    is killed then too: output that cannot be reported means the task is lost).
    """
    try:
        proc = start(argv, oom_score_adjust, env)
    except OSError as exc:
        raise CommandError(f"could not run {argv[0]}: {exc.strerror or exc}") from exc
    if on_start is not None:
        on_start(proc.pid)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(0.1):
                log.info("killing process %d and its children: the task was cancelled", proc.pid)
                kill_tree(proc)
                return

    watcher = threading.Thread(target=watch, name=child_thread_name(f"kill-watch-{proc.pid}"), daemon=True)
    watcher.start()
    failure: BaseException | None = None
    assert proc.stdout is not None
    try:
        for line in read_lines(proc.stdout):
            if failure is None:
                try:
                    on_line(line)
                except BaseException as exc:  # noqa: BLE001 — reported after the process is gone
                    failure = exc
                    kill_tree(proc)
    finally:
        proc.stdout.close()
        code = proc.wait()
        done.set()
        watcher.join()
    if cancel.is_set():
        raise TaskCanceled()
    if failure is not None:
        raise failure
    if code != 0:
        raise CommandError(f"command exited abnormally with code {code if code > 0 else -1}")
