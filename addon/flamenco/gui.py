"""The Flamenco panel in Properties > Output."""

from __future__ import annotations

import bpy

from . import job_settings, properties, state


class FLAMENCO_PT_job_submission(bpy.types.Panel):
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "output"
    bl_label = "Flamenco"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        scene = context.scene
        status = state.status

        col = layout.column()
        col.prop(scene, "flamenco_job_name", text="Job Name")
        col.prop(scene, "flamenco_job_priority")
        col.prop(scene, "flamenco_job_submit_as_paused")
        layout.operator("flamenco.ping_manager", text="Refresh from Manager", icon="FILE_REFRESH")

        if status.version_mismatch or status.job_types_stale:
            box = layout.box()
            box.alert = True
            for line in _explanation(status):
                box.label(text=line)
            box.operator("flamenco.ping_manager", text="Refresh from Manager", icon="FILE_REFRESH")

        if state.info is None:
            layout.label(text="Refresh to get the job types of the Manager", icon="INFO")
        else:
            layout.prop(scene, "flamenco_worker_tag")
            layout.prop(scene, "flamenco_depends_on")
            layout.prop(scene, "flamenco_job_type")
            job_type = properties.selected_job_type(scene)
            if job_type:
                self.draw_settings(layout.column(), scene.flamenco_job_settings, job_type)

        self.draw_status(layout, status)

    @staticmethod
    def draw_settings(layout, group, job_type) -> None:
        for setting in job_type.get("settings", []):
            if not job_settings.is_drawn(setting):
                continue
            key = setting["key"]
            row = layout.row(align=True)
            if not job_settings.is_editable(setting):
                row.enabled = False
                row.prop(group, key)
                continue
            if job_settings.has_link_button(setting):
                toggle = job_settings.autoeval_key(key)
                if getattr(group, toggle):
                    description = (setting.get("evalInfo") or {}).get("description") or "automatic"
                    row.label(text=job_settings.label(setting))
                    row.label(text=description)
                else:
                    row.prop(group, key)
                    row.operator("flamenco.eval_setting", text="", icon="FILE_REFRESH").setting_key = key
                row.prop(group, toggle, text="", icon="LINKED" if getattr(group, toggle) else "UNLINKED")
                continue
            row.prop(group, key)
            if setting.get("eval"):
                row.operator("flamenco.eval_setting", text="", icon="FILE_REFRESH").setting_key = key

    @staticmethod
    def draw_status(layout, status) -> None:
        if status.phase in ("IDLE", "DONE", "ABORTED"):
            if status.text:
                layout.label(text=status.text, icon="ERROR" if status.phase == "ABORTED" else "NONE")
            layout.operator("flamenco.submit_job", text="Submit to Flamenco", icon="PLAY")
            if status.version_mismatch:
                layout.operator("flamenco.submit_job", text="Force Submit", icon="ERROR").ignore_version_mismatch = True
        else:
            layout.label(text=f"{status.text} ({status.progress}%)")


def _explanation(status) -> list[str]:
    if status.version_mismatch:
        return ["The Manager runs another version of Flamenco than this add-on.",
                "Download the add-on from the Manager's web interface,",
                "or use Force Submit if you know the versions work together."]
    return ["The job type changed on the Manager since the last refresh.",
            "Refresh, check the settings, and submit again."]


def register() -> None:
    bpy.utils.register_class(FLAMENCO_PT_job_submission)


def unregister() -> None:
    bpy.utils.unregister_class(FLAMENCO_PT_job_submission)
