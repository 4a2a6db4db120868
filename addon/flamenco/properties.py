"""Scene and window-manager properties, and the per-job-type settings group.

Names follow upstream Flamenco, so studio scripts keep working:
`scene.flamenco_job_name`, `flamenco_job_priority`, `flamenco_job_type`,
`flamenco_worker_tag`, `flamenco_job_settings.<key>`; ours: `flamenco_depends_on` ("Start After").

The settings group is a PropertyGroup class generated from the selected job
type's definition; choosing another job type registers a new class. Values
live in the scene's ID properties by key, so they survive the swap.
"""

from __future__ import annotations

import itertools
from typing import Any

import bpy

from . import evaluation, job_settings, state

NO_JOB_TYPE = "-"
ALL_WORKERS = "-"
NO_DEPENDENCY = "-"

_settings_class: type | None = None
_settings_for: tuple[str, str] = ("", "")  # (job type name, etag) of the registered class
_class_counter = itertools.count(1)
# Blender keeps only pointers to enum item strings: keep the lists alive here.
_enum_cache: dict[str, list[tuple[str, str, str]]] = {}


class FlamencoNoJobTypeSettings(bpy.types.PropertyGroup):
    """Settings group while no job type is selected."""


def _job_type_items(_self, _context) -> list[tuple[str, str, str]]:
    items = [(NO_JOB_TYPE, "Select a Job Type", "")]
    if state.info:
        items += [(jt["name"], jt.get("label") or jt["name"], jt.get("description", ""))
                  for jt in state.info.job_types]
    _enum_cache["job_types"] = items
    return items


def _worker_tag_items(_self, _context) -> list[tuple[str, str, str]]:
    if not state.info or state.info.worker_tags is None:
        items = [(ALL_WORKERS, "-tags unknown-", "Refresh from the Manager to see its worker tags")]
    else:
        items = [(ALL_WORKERS, "All", "Any worker may run this job")]
        items += [(tag["id"], tag["name"], tag.get("description", "")) for tag in state.info.worker_tags]
    _enum_cache["tags"] = items
    return items


def _depends_on_items(_self, _context) -> list[tuple[str, str, str]]:
    items = [(NO_DEPENDENCY, "Right Away", "The job does not wait for another job")]
    if state.info:
        items += [(job["id"], f"{job['name']} ({job['status']})", f"Start once job {job['id']} has completed")
                  for job in state.info.jobs]
    _enum_cache["depends_on"] = items
    return items


def selected_job_type(scene) -> dict[str, Any] | None:
    name = scene.flamenco_job_type
    if not name or name == NO_JOB_TYPE or not state.info:
        return None
    return state.info.job_type(name)


def _on_job_type_change(_self, context) -> None:
    apply_job_type(context.scene)


def _make_getter(setting: dict[str, Any]):
    """Getter of a non-editable setting: its `eval` on every read, else its default."""
    kind = setting.get("type", "string")

    def getter(self):
        value = setting.get("default")
        if setting.get("eval"):
            try:
                value = evaluation.evaluate(setting["eval"], settings=self, scene=self.id_data)
            except Exception:  # noqa: BLE001 — shown as the default; reported at submission
                pass
        try:
            return job_settings.coerce(kind, value)
        except (TypeError, ValueError):
            return job_settings.coerce(kind, 0 if kind in ("int32", "float") else "")

    return getter


def build_settings_class(job_type: dict[str, Any]) -> type:
    annotations: dict[str, Any] = {}
    for setting in job_type.get("settings", []):
        kind, kwargs = job_settings.property_definition(setting, warn=lambda m: print(f"Flamenco: {m}"))
        if not job_settings.is_editable(setting):
            kwargs.pop("default", None)
            kwargs["get"] = _make_getter(setting)
        annotations[setting["key"]] = getattr(bpy.props, kind)(**kwargs)
        if job_settings.has_link_button(setting):
            info = setting.get("evalInfo") or {}
            annotations[job_settings.autoeval_key(setting["key"])] = bpy.props.BoolProperty(
                name="Automatic", default=True, options=set(),
                description=f"Use the automatic value: {info.get('description') or setting['eval']}")
    name = f"FlamencoJobSettings{next(_class_counter)}"
    return type(name, (bpy.types.PropertyGroup,), {"__annotations__": annotations,
                                                   "job_type_name": job_type["name"]})


def apply_job_type(scene) -> None:
    """Make `scene.flamenco_job_settings` match the selected job type, filling in evaluated values."""
    global _settings_class, _settings_for
    job_type = selected_job_type(scene)
    wanted = (job_type["name"], job_type.get("etag", "")) if job_type else ("", "")
    if wanted != _settings_for or _settings_class is None:
        new_class = build_settings_class(job_type) if job_type else FlamencoNoJobTypeSettings
        if new_class is not FlamencoNoJobTypeSettings:
            bpy.utils.register_class(new_class)
        bpy.types.Scene.flamenco_job_settings = bpy.props.PointerProperty(type=new_class)
        _unregister_settings_class()
        _settings_class, _settings_for = new_class, wanted
    if job_type:
        fill_in_empty_settings(scene, job_type)


def fill_in_empty_settings(scene, job_type: dict[str, Any]) -> None:
    """Shown settings with an `eval` and no value yet get the evaluated value (upstream's pass (a))."""
    group = scene.flamenco_job_settings
    for setting in job_type.get("settings", []):
        key = setting["key"]
        if not (setting.get("eval") and job_settings.is_drawn(setting) and job_settings.is_editable(setting)):
            continue
        if group.get(key) not in (None, ""):
            continue
        try:
            value = evaluation.evaluate(setting["eval"], settings=group, scene=scene)
            setattr(group, key, job_settings.coerce(setting.get("type", "string"), value))
        except Exception as exc:  # noqa: BLE001 — a job type's expression can fail in any way
            print(f"Flamenco: setting {key!r}: {setting['eval']!r} failed: {exc}")


def _unregister_settings_class() -> None:
    if _settings_class is not None and _settings_class is not FlamencoNoJobTypeSettings:
        try:
            bpy.utils.unregister_class(_settings_class)
        except RuntimeError:
            pass


def register() -> None:
    global _settings_class, _settings_for
    bpy.utils.register_class(FlamencoNoJobTypeSettings)
    scene = bpy.types.Scene
    scene.flamenco_job_name = bpy.props.StringProperty(
        name="Job Name", default="", options=set(),
        description="Name of the job on the farm; empty means the name of the .blend file")
    scene.flamenco_job_priority = bpy.props.IntProperty(
        name="Priority", default=50, min=0, max=100, options=set(),
        description="Higher numbers run first")
    scene.flamenco_job_submit_as_paused = bpy.props.BoolProperty(
        name="Submit as Paused", default=False, options=set(),
        description="Submit the job paused, so it waits until someone starts it in the web interface")
    scene.flamenco_job_type = bpy.props.EnumProperty(
        name="Job Type", items=_job_type_items, update=_on_job_type_change, options=set())
    scene.flamenco_worker_tag = bpy.props.EnumProperty(
        name="Worker Tag", items=_worker_tag_items, options=set(),
        description="Only workers with this tag run the job")
    scene.flamenco_depends_on = bpy.props.EnumProperty(
        name="Start After", items=_depends_on_items, options=set(),
        description="Wait until this job has completed (the Manager's queued, active and paused jobs "
                    "at the last refresh)")
    scene.flamenco_job_settings = bpy.props.PointerProperty(type=FlamencoNoJobTypeSettings)
    _settings_class, _settings_for = FlamencoNoJobTypeSettings, ("", "")


def unregister() -> None:
    global _settings_class, _settings_for
    for name in ("flamenco_job_name", "flamenco_job_priority", "flamenco_job_submit_as_paused",
                 "flamenco_job_type", "flamenco_worker_tag", "flamenco_depends_on", "flamenco_job_settings"):
        if hasattr(bpy.types.Scene, name):
            delattr(bpy.types.Scene, name)
    _unregister_settings_class()
    bpy.utils.unregister_class(FlamencoNoJobTypeSettings)
    _settings_class, _settings_for = None, ("", "")
