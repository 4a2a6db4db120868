"""Add-on preferences: where the Manager is, who we are to it, and how to find a file's project root."""

from __future__ import annotations

import bpy

from . import project, state


def _refresh_quietly() -> None:
    """Ask the Manager again at once; a problem is shown in the preferences and the edit stays."""
    from . import submission
    from .manager_api import ManagerError

    state.last_error = ""
    try:
        submission.refresh()
    except ManagerError as exc:
        print(f"Flamenco: {exc.message}")


def _on_manager_url_change(_prefs, context) -> None:
    """A new URL means another Manager: drop what we knew about the old one."""
    state.forget()
    _refresh_quietly()


def _on_token_change(_prefs, context) -> None:
    """Same Manager, other credentials: the panel shows at once whether the token works."""
    _refresh_quietly()


class FlamencoPreferences(bpy.types.AddonPreferences):
    bl_idname = state.ROOT_PACKAGE

    manager_url: bpy.props.StringProperty(
        name="Manager URL", default="http://localhost:8080/", update=_on_manager_url_change,
        description="Address of the Flamenco Manager, like http://flamenco-manager:8080/")
    manager_token: bpy.props.StringProperty(
        name="Manager Token", default="", subtype="PASSWORD", update=_on_token_change,
        description="Your API token, for a Manager that requires a login; leave empty when it does not")
    project_finder: bpy.props.EnumProperty(
        name="Project Finder", default="BLENDER_PROJECT",
        items=[(key, label, f"The project root is {desc}") for key, (_m, label, desc) in project.FINDERS.items()],
        description="How the project root is found; files are packed relative to it")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        row = layout.row(align=True)
        row.prop(self, "manager_url")
        row.operator("flamenco.ping_manager", text="", icon="FILE_REFRESH")
        layout.prop(self, "manager_token")
        box = layout.box()
        info = state.info
        if state.last_error:
            box.label(text=state.last_error, icon="ERROR")
        elif info is None:
            box.label(text="Press the refresh button to connect to the Manager", icon="INFO")
        else:
            box.label(text=info.describe(), icon="CHECKMARK")
            if info.shaman_enabled:
                box.label(text="Shaman enabled: only files the farm lacks are uploaded", icon="CHECKMARK")
        storage = info.storage_location if info else ""
        col = layout.column()
        col.label(text=f"Job Storage: {storage or 'unknown, refresh first'}", icon="FILE_FOLDER")
        if info and not info.shaman_enabled:
            col.label(text="Jobs are copied here, into a folder per job")
        layout.prop(self, "project_finder")
        if bpy.data.filepath:
            root = project.find_project_root(bpy.path.abspath(bpy.data.filepath), self.project_finder)
            layout.label(text=f"Project root of this file: {root}")


def register() -> None:
    bpy.utils.register_class(FlamencoPreferences)


def unregister() -> None:
    bpy.utils.unregister_class(FlamencoPreferences)
