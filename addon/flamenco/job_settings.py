"""Job-type settings as Blender properties, and which value each setting sends (pure, no bpy).

A job type's settings come from the Manager as JSON (`key, type, subtype,
choices, propargs, default, eval, evalInfo, visible, editable, ...`). This
module decides how each becomes a Blender property and when its `eval`
expression supplies the value; properties.py turns the result into bpy.props.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

DRAWN = ("visible", "submission")  # shown in the add-on; "web" and "hidden" are not
PROPERTY_KINDS = {"string": "StringProperty", "int32": "IntProperty", "float": "FloatProperty",
                  "bool": "BoolProperty"}
SUBTYPES = {"file_path": "FILE_PATH", "dir_path": "DIR_PATH", "file_name": "FILE_NAME",
            "hashed_file_path": "FILE_PATH"}
# propargs that each kind of Blender property accepts; others are dropped with a warning.
ALLOWED_PROPARGS = {
    "IntProperty": {"min", "max", "soft_min", "soft_max", "step"},
    "FloatProperty": {"min", "max", "soft_min", "soft_max", "step", "precision"},
    "StringProperty": {"maxlen"},
    "BoolProperty": set(),
    "EnumProperty": set(),
}

Warn = Callable[[str], None]


def visibility(setting: Mapping[str, Any]) -> str:
    return setting.get("visible") or "visible"


def is_drawn(setting: Mapping[str, Any]) -> bool:
    return visibility(setting) in DRAWN


def is_editable(setting: Mapping[str, Any]) -> bool:
    """Upstream's add-on treats a missing `editable` as editable."""
    return setting.get("editable", True) is not False


def has_link_button(setting: Mapping[str, Any]) -> bool:
    """A visible setting whose value can follow its `eval` automatically (the chain-link toggle)."""
    return bool(setting.get("eval")) and bool((setting.get("evalInfo") or {}).get("showLinkButton"))


def autoeval_key(key: str) -> str:
    return f"autoeval_{key}"


def label(setting: Mapping[str, Any]) -> str:
    return setting.get("label") or setting["key"].replace("_", " ").title()


def coerce(kind: str, value: Any) -> Any:
    """A value as the setting's type; ValueError/TypeError when impossible."""
    if kind == "int32":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return "" if value is None else str(value)


def property_definition(setting: Mapping[str, Any], warn: Warn = print) -> tuple[str, dict[str, Any]]:
    """(bpy.props function name, keyword arguments) for one setting."""
    kind = setting.get("type", "string")
    prop = PROPERTY_KINDS.get(kind)
    if prop is None:
        warn(f"setting {setting['key']!r} has unknown type {kind!r}; treating it as text")
        kind, prop = "string", "StringProperty"
    kwargs: dict[str, Any] = {"name": label(setting), "description": setting.get("description", ""),
                              "options": set()}  # not animatable
    choices = setting.get("choices")
    if choices and kind == "string":
        prop = "EnumProperty"
        kwargs["items"] = [(str(c), str(c), "") for c in choices]
    elif choices:
        warn(f"setting {setting['key']!r}: choices only work for text settings; ignored")
    if "default" in setting and setting["default"] is not None:
        try:
            default = coerce(kind, setting["default"])
        except (TypeError, ValueError):
            warn(f"setting {setting['key']!r}: default {setting['default']!r} is not a {kind}; ignored")
        else:
            if prop != "EnumProperty" or default in [c[0] for c in kwargs["items"]]:
                kwargs["default"] = default
    subtype = setting.get("subtype")
    if subtype and prop == "StringProperty":
        kwargs["subtype"] = SUBTYPES.get(subtype, "NONE")
    for name, value in (setting.get("propargs") or {}).items():
        if name not in ALLOWED_PROPARGS[prop]:
            warn(f"setting {setting['key']!r}: propargs {name!r} is not supported here; ignored")
            continue
        if name in ("min", "max", "soft_min", "soft_max"):
            value = coerce(kind, value)
        kwargs[name] = value
    return prop, kwargs


def is_autoeval(setting: Mapping[str, Any], toggles: Mapping[str, bool]) -> bool:
    """Whether the value comes from `eval` at submission instead of from the artist.

    True for settings the add-on does not show (they are computed from the
    scene), and for shown ones whose automatic toggle is on.
    """
    if not setting.get("eval"):
        return False
    if not is_drawn(setting):
        return True
    return has_link_button(setting) and toggles.get(autoeval_key(setting["key"]), True)


def settings_for_submission(job_type: Mapping[str, Any], values: Mapping[str, Any], toggles: Mapping[str, bool],
                            evaluate: Callable[[Mapping[str, Any]], Any], warn: Warn = print) -> dict[str, Any]:
    """The `settings` object of a SubmittedJob.

    `values` are the property values as the artist left them, `evaluate`
    runs a setting's `eval` expression. Non-editable settings and automatic
    ones are evaluated now; a failing expression falls back to the default.
    """
    result: dict[str, Any] = {}
    for setting in job_type.get("settings", []):
        key, kind = setting["key"], setting.get("type", "string")
        if not is_editable(setting) or is_autoeval(setting, toggles):
            value = _evaluated(setting, evaluate, warn)
        else:
            value = values.get(key)
        if value is None:
            continue
        try:
            result[key] = coerce(kind, value)
        except (TypeError, ValueError):
            warn(f"setting {key!r}: {value!r} is not a {kind}; not sent")
    return result


def _evaluated(setting: Mapping[str, Any], evaluate: Callable[[Mapping[str, Any]], Any], warn: Warn) -> Any:
    if setting.get("eval"):
        try:
            return evaluate(setting)
        except Exception as exc:  # noqa: BLE001 — a job type's expression can fail in any way
            warn(f"setting {setting['key']!r}: {setting['eval']!r} failed ({exc}); using the default")
    return setting.get("default")
