"""Operators: refresh from the Manager, submit, evaluate one setting.

`execute` does all the work, so scripts and headless Blender can call
`bpy.ops.flamenco.ping_manager()` and `bpy.ops.flamenco.submit_job()`:
problems are reported with `self.report` and the operator returns
{'CANCELLED'}; success returns {'FINISHED'}.
"""

from __future__ import annotations

import bpy

from . import evaluation, job_settings, packing, properties, state, submission
from .manager_api import ManagerError


_last_printed = [("", "")]


def _set_status(context, phase: str, text: str = "", progress: float | None = None) -> None:
    state.status.phase = phase
    state.status.text = text
    if progress is not None:
        state.status.progress = int(round(progress * 100))
    # The console gets each step once, not a line per file of a big project.
    step = text.split(" ", 1)[0]
    if text and (phase, step) != _last_printed[0]:
        _last_printed[0] = (phase, step)
        print(f"Flamenco: {text}")
    if context.area:
        context.area.tag_redraw()


class FLAMENCO_OT_ping_manager(bpy.types.Operator):
    """Connect to the Manager and fetch its job types, worker tags and storage location"""

    bl_idname = "flamenco.ping_manager"
    bl_label = "Refresh from Manager"
    bl_options = {"REGISTER"}

    def execute(self, context):
        warnings: list[str] = []
        _set_status(context, "COMMUNICATING", "Refreshing from the Manager")
        try:
            info = submission.refresh(warnings)
        except ManagerError as exc:
            _set_status(context, "IDLE", exc.message)
            self.report({"ERROR"}, exc.message)
            return {"CANCELLED"}
        for warning in warnings:
            self.report({"WARNING"}, warning)
        state.status.version_mismatch = False
        state.status.job_types_stale = False
        message = info.describe()
        if info.shaman_enabled:
            message += ", Shaman enabled"
        _set_status(context, "IDLE", message)
        self.report({"INFO"}, message)
        return {"FINISHED"}


class FLAMENCO_OT_submit_job(bpy.types.Operator):
    """Pack this .blend file with its dependencies and submit it to Flamenco"""

    bl_idname = "flamenco.submit_job"
    bl_label = "Submit to Flamenco"
    bl_options = {"REGISTER"}

    job_name: bpy.props.StringProperty(
        name="Job Name", default="",
        description="Name of the pack folder or Shaman checkout; empty means the job's name")
    ignore_version_mismatch: bpy.props.BoolProperty(
        name="Ignore Version Mismatch", default=False,
        description="Submit even though the Manager speaks another version of the API")

    @classmethod
    def poll(cls, context):
        if properties.selected_job_type(context.scene) is None:
            cls.poll_message_set("Refresh from the Manager and select a job type first")
            return False
        return True

    def execute(self, context):
        wm = context.window_manager

        def progress(text: str, fraction: float) -> None:
            _set_status(context, "TRANSFERRING", text, fraction)
            wm.progress_update(int(fraction * 100))

        wm.progress_begin(0, 100)
        try:
            result = submission.submit(context, pack_name=self.job_name,
                                       ignore_version_mismatch=self.ignore_version_mismatch, progress=progress)
        except (submission.SubmitError, packing.PackError) as exc:
            return self._fail(context, str(exc))
        except ManagerError as exc:
            return self._fail(context, submission.explain(exc, "submit the job"))
        finally:
            wm.progress_end()
        message = f"Job {result.job['name']} submitted ({result.transfer})"
        if result.missing:
            message += f", with {result.missing} missing files"
        _set_status(context, "DONE", message, 1.0)
        self.report({"WARNING"} if result.missing else {"INFO"}, message)
        return {"FINISHED"}

    def _fail(self, context, message: str):
        _set_status(context, "ABORTED", message, 0.0)
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


class FLAMENCO_OT_eval_setting(bpy.types.Operator):
    """Set this setting to the value computed from the scene"""

    bl_idname = "flamenco.eval_setting"
    bl_label = "Evaluate Setting"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    setting_key: bpy.props.StringProperty()

    @classmethod
    def description(cls, context, props):
        job_type = properties.selected_job_type(context.scene)
        setting = _setting(job_type, props.setting_key) if job_type else None
        if not setting:
            return cls.__doc__
        return f"Set value to: {setting.get('eval', '')}"

    def execute(self, context):
        job_type = properties.selected_job_type(context.scene)
        setting = _setting(job_type, self.setting_key) if job_type else None
        if not setting or not setting.get("eval"):
            self.report({"ERROR"}, f"No expression to evaluate for {self.setting_key!r}")
            return {"CANCELLED"}
        group = context.scene.flamenco_job_settings
        try:
            value = evaluation.evaluate(setting["eval"], settings=group, scene=context.scene)
            setattr(group, self.setting_key, job_settings.coerce(setting.get("type", "string"), value))
        except Exception as exc:  # noqa: BLE001 — any error of the job type's expression
            self.report({"ERROR"}, f"{setting['eval']} failed: {exc}")
            return {"CANCELLED"}
        return {"FINISHED"}


def _setting(job_type, key: str):
    return next((s for s in job_type.get("settings", []) if s["key"] == key), None)


classes = (FLAMENCO_OT_ping_manager, FLAMENCO_OT_submit_job, FLAMENCO_OT_eval_setting)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
