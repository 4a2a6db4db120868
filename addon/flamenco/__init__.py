# SPDX-License-Identifier: GPL-3.0-or-later
"""Flamenco: submit render jobs from Blender to a Flamenco Manager.

Output Properties > Flamenco. The .blend file and what it uses are packed
with blender-asset-tracer (bundled) and sent through the Manager's Shaman
(only files the farm does not have yet), or copied to shared storage when
the Manager has no Shaman.
"""

bl_info = {
    "name": "Flamenco",
    "author": "flamenco-py contributors",
    "version": (3, 9, 0),
    "blender": (3, 1, 0),
    "description": "Submit render jobs to a Flamenco Manager",
    "location": "Properties > Output > Flamenco",
    "doc_url": "https://flamenco.blender.org/",
    "category": "System",
    "support": "COMMUNITY",
    "warning": "",
}

__version__ = "3.9.0"

_modules = ()


def _load_post(_dummy=None) -> None:
    """After a file loads: restore the cached Manager info and the scene's settings group.

    Returns None, which also ends it when it runs as a one-off timer.
    """
    import bpy

    from . import properties, state

    state.load_cached()
    # One settings class serves every scene; the active one decides which job type it is for.
    scene = getattr(bpy.context, "scene", None) or next(iter(bpy.data.scenes), None)
    if scene is not None:
        try:
            properties.apply_job_type(scene)
        except Exception as exc:  # noqa: BLE001 — never break loading a file
            print(f"Flamenco: cannot restore the job settings of scene {scene.name!r}: {exc}")


def register() -> None:
    global _modules
    import bpy

    from . import gui, operators, preferences, properties, state

    _modules = (properties, preferences, operators, gui)
    for module in _modules:
        module.register()
    state.load_cached()
    bpy.app.handlers.load_post.append(_persistent_load_post)
    # The context has no scene during register(); rebuild the settings group right after.
    bpy.app.timers.register(_load_post, first_interval=0.1)


def unregister() -> None:
    import bpy

    if _persistent_load_post in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_persistent_load_post)
    if bpy.app.timers.is_registered(_load_post):
        bpy.app.timers.unregister(_load_post)
    for module in reversed(_modules):
        module.unregister()


def _persistent_load_post(dummy) -> None:
    _load_post(dummy)


try:  # mark the handler persistent so it survives loading other files
    from bpy.app.handlers import persistent as _persistent

    _persistent_load_post = _persistent(_persistent_load_post)
except ImportError:  # outside Blender (tests import the pure modules)
    pass
