"""Submitting the current scene: refresh, check, pack, transfer, submit.

Every step raises SubmitError (or ManagerError) with a message for the artist;
the operator shows it. Order matters: the job is checked by the Manager
*before* anything is packed or uploaded, so a refused job costs nothing.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import bpy

from . import evaluation, job_settings, manager_info, packing, project, properties, state
from . import version as addon_version
from .manager_api import ManagerClient, ManagerError, Unreachable, client_platform
from .shaman_client import HashCache, ShamanUploader, TransferReport

CHECK_BLENDFILE = "dummy-for-job-check.blend"
STALE_JOB_TYPE = "Cached job type is old. Refresh the job types and submit again, please"

Progress = Callable[[str, float], None]


class SubmitError(Exception):
    """A reason not to submit, worded for the artist."""


@dataclass
class Submitted:
    job: dict[str, Any]
    transfer: str  # what happened to the files, for the report
    missing: int


def refresh(warnings: list[str] | None = None) -> manager_info.ManagerInfo:
    """Fetch version, storage, job types and tags; remember them; restore the scene's choices."""
    try:
        info = manager_info.fetch(state.client(), warnings)
    except ManagerError as exc:
        state.last_error = exc.message
        raise
    # Enum properties store positions in the item list: remember the names, then restore them.
    chosen = {scene.name: (scene.flamenco_job_type, scene.flamenco_worker_tag, scene.flamenco_depends_on)
              for scene in bpy.data.scenes}
    state.remember(info)
    for scene in bpy.data.scenes:
        job_type, tag, depends_on = chosen[scene.name]
        if job_type not in ("", properties.NO_JOB_TYPE):  # "": unknown before the first refresh
            if info.job_type(job_type):
                scene.flamenco_job_type = job_type
            else:
                scene.flamenco_job_type = properties.NO_JOB_TYPE
                _warn(warnings, f"job type {job_type!r} of scene {scene.name!r} is not on this Manager any more")
        if tag not in ("", properties.ALL_WORKERS):
            if any(t["id"] == tag for t in info.worker_tags or []):
                scene.flamenco_worker_tag = tag
            else:
                scene.flamenco_worker_tag = properties.ALL_WORKERS
                _warn(warnings, f"worker tag of scene {scene.name!r} is not on this Manager any more")
        if depends_on not in ("", properties.NO_DEPENDENCY):
            if any(j["id"] == depends_on for j in info.jobs):
                scene.flamenco_depends_on = depends_on
            else:
                scene.flamenco_depends_on = properties.NO_DEPENDENCY
                _warn(warnings, f"the job scene {scene.name!r} was to start after is finished or gone")
        properties.apply_job_type(scene)
    return info


def _warn(warnings: list[str] | None, message: str) -> None:
    print(f"Flamenco: {message}")
    if warnings is not None:
        warnings.append(message)


def check_version(info: manager_info.ManagerInfo) -> None:
    if addon_version.version_mismatch(info.shortversion):
        raise SubmitError(f"Manager ({info.shortversion}) and this add-on ({addon_version.API_VERSION}) "
                          "version mismatch, "
                          "either update the add-on or force the submission")


def build_job(scene, job_type: dict[str, Any], name: str) -> dict[str, Any]:
    group = scene.flamenco_job_settings
    values = {s["key"]: getattr(group, s["key"], None) for s in job_type.get("settings", [])}
    toggles = {key: getattr(group, key) for key in group.bl_rna.properties.keys() if key.startswith("autoeval_")}

    def evaluate(setting: dict[str, Any]) -> Any:
        return evaluation.evaluate(setting["eval"], settings=group, scene=scene)

    job: dict[str, Any] = {
        "name": name,
        "type": job_type["name"],
        "priority": scene.flamenco_job_priority,
        "settings": job_settings.settings_for_submission(job_type, values, toggles, evaluate,
                                                         warn=lambda m: print(f"Flamenco: {m}")),
        "metadata": {"user.name": getpass.getuser()},
        "submitter_platform": client_platform(),
        "type_etag": job_type.get("etag", ""),
        "initial_status": "paused" if scene.flamenco_job_submit_as_paused else "queued",
    }
    if scene.flamenco_worker_tag not in ("", properties.ALL_WORKERS):
        job["worker_tag"] = scene.flamenco_worker_tag
    if scene.flamenco_depends_on not in ("", properties.NO_DEPENDENCY):
        job["depends_on"] = [scene.flamenco_depends_on]  # our addition to the API
    return job


def explain(exc: ManagerError, doing: str) -> str:
    if isinstance(exc, Unreachable):
        return f"Unable to reach Flamenco Manager ({exc.message})"
    if exc.status == 412:
        return STALE_JOB_TYPE
    if exc.status == 400:
        return exc.message
    return f"Could not {doing}: {exc.message}"


def submit(context, *, pack_name: str = "", ignore_version_mismatch: bool = False,
           progress: Progress | None = None) -> Submitted:
    progress = progress or (lambda _text, _fraction: None)
    scene = context.scene
    status = state.status
    status.last_job_id = ""

    progress("Asking the Manager for its job types", 0.0)
    info = refresh()
    status.version_mismatch = False
    if not ignore_version_mismatch:
        try:
            check_version(info)
        except SubmitError:
            status.version_mismatch = True
            raise
    if not bpy.data.filepath:
        raise SubmitError("Please save your .blend file before submitting to Flamenco")
    job_type = properties.selected_job_type(scene)
    if job_type is None:
        raise SubmitError("Select a job type first")

    name = evaluation.job_name(scene)
    job = build_job(scene, job_type, name)
    job["settings"]["blendfile"] = CHECK_BLENDFILE
    client = state.client()
    try:
        client.check_job(job)
    except ManagerError as exc:
        status.job_types_stale = exc.status == 412
        raise SubmitError(explain(exc, "check the job")) from None
    status.job_types_stale = False

    original = Path(bpy.data.filepath)
    folder_name = pack_name or name
    copy = original.with_name(original.stem + ".flamenco.blend")
    progress("Saving a copy of the .blend file", 0.05)
    bpy.ops.wm.save_as_mainfile(filepath=str(copy), copy=True, compress=False)
    keep_copy = False
    try:
        root = project.find_project_root(original, state.preferences().project_finder)
        storage = info.storage_location
        if storage and _is_inside(original, Path(storage)):
            keep_copy = True  # already on shared storage: the farm reads it where it is
            job["settings"]["blendfile"] = str(copy)
            transfer, missing = "used in place on the shared storage", 0
        elif info.shaman_enabled:
            transfer, missing = _via_shaman(client, copy, root, folder_name, job, progress)
        else:
            transfer, missing = _via_copy(copy, root, storage, folder_name, job, progress)
    finally:
        if not keep_copy:
            with contextlib.suppress(OSError):
                copy.unlink()

    progress("Submitting the job", 0.95)
    try:
        submitted = client.submit_job(job)
    except ManagerError as exc:
        status.job_types_stale = exc.status == 412
        raise SubmitError(explain(exc, "submit the job")) from None
    status.last_job_id = submitted.get("id", "")
    return Submitted(job=submitted, transfer=transfer, missing=missing)


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.absolute().relative_to(folder.absolute())
    except ValueError:
        return False
    return True


def _via_shaman(client: ManagerClient, blendfile: Path, root: Path, name: str, job: dict[str, Any],
                progress: Progress) -> tuple[str, int]:
    progress("Finding the files this scene needs", 0.1)
    uploader = ShamanUploader(client, HashCache(state.hash_cache_path()),
                              progress=lambda text, f: progress(text, 0.15 + 0.75 * f))
    with packing.shaman_pack(blendfile, root) as pack:
        try:
            report: TransferReport = uploader.send(pack.files, project.safe_name(name))
        except ManagerError as exc:
            raise SubmitError(explain(exc, "upload the files")) from None
    checkout = report.checkout_path
    job["settings"]["blendfile"] = "{jobs}/" + str(PurePosixPath(checkout, pack.blendfile))
    job["storage"] = {"shaman_checkout_id": checkout}
    return f"{report.summary()}, checkout {checkout}", len(pack.missing) + len(report.missing)


def _via_copy(blendfile: Path, root: Path, storage: str, name: str, job: dict[str, Any],
              progress: Progress) -> tuple[str, int]:
    if not storage:
        raise SubmitError("The Manager did not say where its shared storage is; refresh and try again")
    if not Path(storage).is_dir():
        raise SubmitError(f"The shared storage {storage} is not reachable from this computer; "
                          "check that it is mounted, or ask for the Manager's variables to be set up")
    target = Path(storage) / project.pack_folder_name(name)
    progress(f"Copying the files to {target}", 0.2)
    try:
        pack = packing.copy_pack(blendfile, root, target)
    except OSError as exc:
        raise SubmitError(f"Could not copy the files to the shared storage: {exc}") from None
    job["settings"]["blendfile"] = str(target / Path(*PurePosixPath(pack.blendfile).parts))
    return f"files copied to {target}", len(pack.missing)
