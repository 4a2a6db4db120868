"""Listing, describing and compiling job types in this process.

Runs inside the job-type worker processes (`pool_worker.py`), never on the
Manager's event loop: QuickJS holds the GIL while a script runs. Only there:
a compile that runs away is stopped by killing the process.

Stateless on purpose: every call re-discovers and re-runs the scripts in a
fresh sandbox, which is what makes "edit the script, press Refresh in Blender"
work without restarting the Manager.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .engine import Sandbox, SandboxLimits, ScriptFailure, ScriptLimitExceeded, ScriptSyntaxError
from .compiled import Sink, TaskCollector
from .errors import CompileError, EtagMismatch, JobTypeBroken, JobTypeUnknown
from .etag import compute_etag
from .loader import ScriptFile, find_scripts, module_files
from .models import CompiledJob

log = logging.getLogger("flamenco.jobtypes")


class _ModuleFiles:
    """Files for require(), read at most once per registry call and only if needed."""

    def __init__(self, custom_dir: Path | None) -> None:
        self._custom_dir = custom_dir
        self._files: dict[str, str] | None = None

    def for_script(self, script: ScriptFile) -> dict[str, str]:
        if "require" not in script.source:
            return {}
        if self._files is None:
            self._files = module_files(self._custom_dir)
        return self._files


class ScriptRunner:
    """Lists, describes and compiles job types from the bundled and custom scripts."""

    def __init__(self, custom_dir: Path | None, limits: SandboxLimits,
                 heartbeat: Callable[[str], None] = lambda filename: None) -> None:
        self.custom_dir = Path(custom_dir) if custom_dir is not None else None
        self.limits = limits
        self.heartbeat = heartbeat  # called with the script's file name before each sandbox starts

    # -- public API ---------------------------------------------------------

    def list_types(self) -> list[dict]:
        """All loadable job types, sorted by name; broken ones are logged and left out."""
        modules = _ModuleFiles(self.custom_dir)
        result = []
        for name, candidates in sorted(find_scripts(self.custom_dir).items()):
            try:
                with self._open(candidates, modules) as (sandbox, script):
                    if sandbox is None:
                        continue
                    result.append(self._describe(sandbox, script))
            except ScriptFailure as err:
                log.warning("job type %s is not offered, its script is broken: %s", name, err.message)
        return result

    def get_type(self, name: str) -> dict:
        """One job type as the API shows it."""
        candidates = find_scripts(self.custom_dir).get(name)
        if not candidates:
            raise JobTypeUnknown("no such job type known", http_status=404)
        try:
            with self._open(candidates, _ModuleFiles(self.custom_dir)) as (sandbox, script):
                if sandbox is None:
                    raise JobTypeUnknown("no such job type known", http_status=404)
                return self._describe(sandbox, script)
        except ScriptFailure as err:
            log.error("job type %s is broken: %s", name, err.message)
            raise JobTypeBroken("error getting job type", http_status=500) from None

    def compile(self, job: dict, sink: Sink) -> CompiledJob:
        """Run the job type's compileJob() for a submitted job; its tasks go to `sink` as they come.

        Raises JobTypeUnknown (400), JobTypeBroken (400), EtagMismatch (412) or
        CompileError (400), following the upstream Manager's failure table.
        When it raises, tasks may have gone to `sink` already.
        """
        began = time.perf_counter()
        name = str(job.get("type") or "")
        candidates = find_scripts(self.custom_dir).get(name)
        if not candidates:
            raise JobTypeUnknown("job type unknown", http_status=400)
        with self._open_for_compile(candidates) as (sandbox, script):
            if sandbox is None:
                raise JobTypeUnknown("job type unknown", http_status=400)
            try:
                description = self._describe(sandbox, script)
            except ScriptLimitExceeded as err:
                raise CompileError(err.message) from None
            except ScriptFailure as err:
                raise JobTypeBroken(err.message, http_status=400) from None

            submitted_etag = job.get("type_etag") or ""
            if submitted_etag and submitted_etag != description["etag"]:
                log.info("rejecting job %r: it was made with job type %s etag %s, current etag is %s",
                         job.get("name"), name, submitted_etag, description["etag"])
                raise EtagMismatch()

            collector = TaskCollector(script.filename, sink)
            try:
                output = sandbox.compile(self._job_input(job, name), collector.add, stream=True)
            except ScriptFailure as err:
                log.info("job %r of type %s does not compile: %s", job.get("name"), name, err.message)
                raise CompileError(err.message) from None

        compiled = collector.finish(output)
        log.info("job %r compiled with job type %s (%s): %d tasks in %.2f s",
                 job.get("name"), name, script.filename, len(collector.names), time.perf_counter() - began)
        return compiled

    # -- helpers ------------------------------------------------------------

    def _open(self, candidates: list[ScriptFile], modules: _ModuleFiles) -> "_OpenScript":
        return _OpenScript(candidates, self.limits, modules.for_script, self.heartbeat)

    def _open_for_compile(self, candidates: list[ScriptFile]) -> "_OpenScript":
        # On submission a runaway top level is a 400 CompileError, a failing
        # one a 400 JobTypeBroken (on GET it would be a 500).
        return _OpenScript(candidates, self.limits, _ModuleFiles(self.custom_dir).for_script, self.heartbeat,
                           limit_error=CompileError,
                           failure_error=lambda msg: JobTypeBroken(msg, http_status=400))

    @staticmethod
    def _describe(sandbox: Sandbox, script: ScriptFile) -> dict:
        info = sandbox.job_type_info()
        described: dict = {"name": script.name, "label": info["label"]}
        if info.get("description") is not None:
            described["description"] = info["description"]
        described["settings"] = info["settings"] if info["settings"] is not None else []
        described["etag"] = compute_etag({**info, "name": script.name})
        return described

    @staticmethod
    def _job_input(job: dict, name: str) -> dict:
        created = job.get("created") or datetime.now(timezone.utc)
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.astimezone()  # naive: Manager local time
        return {
            "name": job.get("name") or "",
            "priority": job.get("priority") or 0,
            "jobType": name,
            "settings": job.get("settings") or {},
            "metadata": job.get("metadata") or {},
            "createdMs": int(created.timestamp() * 1000),
            "jobID": job.get("id") or "",
            "workerTagUUID": job.get("worker_tag") or "",
            "shamanCheckoutID": job.get("shaman_checkout_id") or "",
            "dependsOn": list(job.get("depends_on") or []),
        }


class _OpenScript:
    """Context manager: a sandbox whose script top level has run, or None.

    Candidates are tried from strongest to weakest; one that does not parse is
    logged and skipped, like upstream skips unparseable files at load time.
    """

    def __init__(self, candidates: list[ScriptFile], limits: SandboxLimits,
                 modules_for: Callable[[ScriptFile], dict[str, str]],
                 heartbeat: Callable[[str], None],
                 limit_error: Callable[[str], Exception] | None = None,
                 failure_error: Callable[[str], Exception] | None = None) -> None:
        self._candidates = candidates
        self._limits = limits
        self._modules_for = modules_for
        self._heartbeat = heartbeat
        self._limit_error = limit_error
        self._failure_error = failure_error
        self._sandbox: Sandbox | None = None

    def __enter__(self) -> tuple[Sandbox | None, ScriptFile | None]:
        for script in reversed(self._candidates):
            sandbox = None
            self._heartbeat(script.filename)
            try:
                sandbox = Sandbox(script, self._limits, self._modules_for(script))
                sandbox.run_script()
            except ScriptSyntaxError as err:
                sandbox.__exit__(None, None, None)
                log.warning("job type script %s (%s) has a syntax error and is ignored: %s",
                            script.filename, script.origin, err)
                continue
            except ScriptLimitExceeded as err:
                if sandbox is not None:
                    sandbox.__exit__(None, None, None)
                if self._limit_error is not None:
                    raise self._limit_error(err.message) from None
                raise
            except ScriptFailure as err:
                sandbox.__exit__(None, None, None)
                if self._failure_error is not None:
                    raise self._failure_error(err.message) from None
                raise
            self._sandbox = sandbox
            return sandbox, script
        return None, None

    def __exit__(self, *exc_info: object) -> None:
        if self._sandbox is not None:
            self._sandbox.__exit__(*exc_info)
