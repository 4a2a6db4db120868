"""The job-type registry: what the API handlers for job types and submission call.

Every call runs in a job-type worker process (`pool.py`), never on the
Manager's event loop, with a fresh sandbox per script (see `runner.py`), so
an edited script takes effect at once. The exceptions carry the HTTP status
and message the API should reply with.
"""

from __future__ import annotations

from pathlib import Path

from .compiled import Sink
from .errors import CompileError
from .models import CompiledJob, TaskGroup, TaskRow
from .pool import ScriptOutOfTime, ScriptPool, shared_pool


class JobTypeRegistry:
    """Lists, describes and compiles job types from the bundled and custom scripts."""

    def __init__(self, custom_dir: Path | None, *, time_limit_s: float = 5.0,
                 memory_limit_bytes: int = 256 * 2**20, pool: ScriptPool | None = None) -> None:
        self.custom_dir = Path(custom_dir) if custom_dir is not None else None
        self.time_limit_s = time_limit_s
        self.memory_limit_bytes = memory_limit_bytes
        self.pool = pool if pool is not None else shared_pool()
        self.pool.start()

    def list_types(self) -> list[dict]:
        """All loadable job types, sorted by name; broken ones are logged and left out."""
        return self._request("list")

    def get_type(self, name: str) -> dict:
        """One job type as the API shows it. Raises JobTypeUnknown (404) or JobTypeBroken (500)."""
        return self._request("get", name)

    def compile(self, job: dict, on_tasks: Sink | None = None) -> CompiledJob:
        """Run the job type's compileJob() for a submitted job.

        Raises JobTypeUnknown (400), JobTypeBroken (400), EtagMismatch (412) or
        CompileError (400), following the upstream Manager's failure table.
        With `on_tasks(TaskGroup or None, dependency pairs)`, the tasks go
        there as they come, often while the script still runs (it may still
        fail after that), with the dependencies on tasks handed over before; the result
        then holds settings, metadata and the dependencies on tasks added
        later (not counted in any row's deps_pending).
        """
        rows: list[TaskRow] = []
        dependencies: list[tuple[int, int]] = []

        def collect(tasks: TaskGroup | None, pairs: list[tuple[int, int]]) -> None:
            if tasks is not None:
                rows.extend(tasks.rows())
            dependencies.extend(pairs)

        try:
            settings, metadata, later, depends_on = self._request("compile", job, True,
                                                                  on_tasks=on_tasks or collect)
        except ScriptOutOfTime as err:
            raise CompileError(f"job type script {err.filename} took longer than {self.time_limit_s:g} s") from None
        return CompiledJob(settings, metadata, rows, dependencies + later, depends_on)

    def check(self, job: dict) -> None:
        """Compile a job like `compile` and raise like it, without handing back its tasks."""
        try:
            self._request("compile", job, False)
        except ScriptOutOfTime as err:
            raise CompileError(f"job type script {err.filename} took longer than {self.time_limit_s:g} s") from None

    def _request(self, operation: str, *args: object, **options: object):
        custom = str(self.custom_dir) if self.custom_dir is not None else None
        return self.pool.request((operation, custom, self.time_limit_s, self.memory_limit_bytes, *args),
                                 silence_limit_s=30.0 + 6 * self.time_limit_s, **options)
