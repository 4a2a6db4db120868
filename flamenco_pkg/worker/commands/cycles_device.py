"""Blender arguments that make Cycles render on a Worker slot's GPU.

A slot's processes see only its own GPU (CUDA_VISIBLE_DEVICES and friends),
so enabling every device of the configured type enables exactly that GPU.
The expression must never break a render: when Blender finds no such device
(wrong type, no driver, a Blender built without that backend) it prints a
warning line, which lands in the task log, and renders on the CPU.
"""

from __future__ import annotations

DEVICE_TYPES = ("CUDA", "OPTIX", "HIP", "METAL", "ONEAPI")
DEFAULT_DEVICE_TYPE = "CUDA"
WARNING_PREFIX = "Flamenco: WARNING:"

# Runs inside Blender after the blend file is loaded and before any frame is rendered.
# Kept free of names that could clash with a user's scripts (one underscore-prefixed function).
_EXPR = '''import bpy
def _flamenco_cycles_device(kind):
    found = []
    try:
        prefs = bpy.context.preferences.addons["cycles"].preferences
        prefs.compute_device_type = kind
        (getattr(prefs, "refresh_devices", None) or prefs.get_devices)()
        for dev in prefs.devices:
            dev.use = dev.type == kind
            if dev.use:
                found.append(dev.name)
    except Exception as exc:
        print("Flamenco: cannot select %s devices in Cycles: %s" % (kind, exc))
    if found:
        print("Flamenco: Cycles renders on %s: %s" % (kind, ", ".join(found)))
    else:
        print("WARNING_PREFIX Blender found no %s device; Cycles renders on the CPU" % kind)
    for scene in bpy.data.scenes:
        try:
            scene.cycles.device = "GPU" if found else "CPU"
        except Exception as exc:
            print("Flamenco: cannot set the Cycles device of scene %s: %s" % (scene.name, exc))
_flamenco_cycles_device("KIND")
'''


def check_device_type(value: str) -> str:
    """The device type in Cycles' spelling; ValueError names the valid ones."""
    kind = value.strip().upper()
    if kind not in DEVICE_TYPES:
        raise ValueError(f"device type {value!r} is not one of {', '.join(DEVICE_TYPES)}")
    return kind


def python_expr(device_type: str) -> str:
    """Python for `--python-expr`: use only GPUs of `device_type`, else the CPU with a warning."""
    kind = check_device_type(device_type)
    return _EXPR.replace("WARNING_PREFIX", WARNING_PREFIX).replace('"KIND"', f'"{kind}"')


def device_args(device_type: str) -> list[str]:
    """What goes on Blender's command line right after the blend file."""
    return ["--python-expr", python_expr(device_type)]
