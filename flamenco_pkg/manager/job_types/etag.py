"""Job-type etag: the SHA-1 of the job type as Go's encoding/json would print it.

Blender's add-on caches job types and sends the etag back with each submission;
the Manager answers 412 when it differs. To stay interchangeable with an
upstream Manager (and with add-ons that cached an etag from one), the pre-image
must be byte-identical to Go's output, hence this small hand-rolled encoder.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from typing import Any

# Field order of Go's generated structs. Both lists happen to be alphabetical,
# so sorting keys reproduces them, but they are spelled out for clarity.
_TOP_LEVEL_ORDER = ("description", "etag", "label", "name", "settings")
_SETTING_ORDER = (
    "choices", "default", "description", "editable", "eval", "evalInfo", "key",
    "label", "propargs", "required", "subtype", "type", "visible",
)
_EVAL_INFO_ORDER = ("description", "showLinkButton")
_ALWAYS_PRESENT_SETTING_KEYS = frozenset({"key", "type"})

# Go escapes these so that JSON can be embedded in HTML/JS safely.
_GO_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _go_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in _GO_HTML_ESCAPES.items():
        encoded = encoded.replace(char, escape)
    return encoded


def _go_float(value: float) -> str:
    """Format like Go's encoding/json: positional between 1e-6 and 1e21, else exponent."""
    if math.isnan(value) or math.isinf(value):
        # Go refuses to encode these; there is no faithful answer, so pick null.
        return "null"
    if value == int(value) and abs(value) < 2**63:
        return str(int(value))
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        return format(Decimal(repr(value)), "f")
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    sign = exponent[0] if exponent[0] in "+-" else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    if len(digits) < 2 and sign == "+":
        digits = digits.rjust(2, "0")
    return f"{mantissa}e{sign}{digits}"


def go_json(value: Any) -> str:
    """Compact JSON as Go's json.Marshal prints exported JS values (map keys sorted)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return _go_object(value, sorted(value))
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _go_object(value: dict, keys: Any) -> str:
    parts = [f"{_go_string(str(key))}:{go_json(value[key])}" for key in keys]
    return "{" + ",".join(parts) + "}"


def _setting_json(setting: dict) -> str:
    parts = []
    for key in _SETTING_ORDER:
        present = key in setting and setting[key] is not None
        if not present and key not in _ALWAYS_PRESENT_SETTING_KEYS:
            continue
        item = setting.get(key)
        if key in _ALWAYS_PRESENT_SETTING_KEYS and item is None:
            item = ""
        if key == "evalInfo":
            encoded = _go_object(
                {"description": item.get("description") or "",
                 "showLinkButton": bool(item.get("showLinkButton"))},
                _EVAL_INFO_ORDER,
            )
        else:
            encoded = go_json(item)
        parts.append(f"{_go_string(key)}:{encoded}")
    return "{" + ",".join(parts) + "}"


def etag_preimage(job_type: dict) -> str:
    """The exact bytes (as text) that get hashed; `etag` is always the empty string."""
    parts = []
    for key in _TOP_LEVEL_ORDER:
        if key == "etag":
            parts.append('"etag":""')
        elif key == "description":
            if job_type.get("description") is not None:
                parts.append(f'"description":{go_json(job_type["description"])}')
        elif key == "settings":
            settings = job_type.get("settings")
            if settings is None:
                parts.append('"settings":null')
            else:
                parts.append('"settings":[' + ",".join(_setting_json(s) for s in settings) + "]")
        else:
            parts.append(f"{_go_string(key)}:{go_json(job_type.get(key) or '')}")
    return "{" + ",".join(parts) + "}"


def compute_etag(job_type: dict) -> str:
    """SHA-1 hex digest identifying this exact job-type definition."""
    return hashlib.sha1(etag_preimage(job_type).encode("utf-8")).hexdigest()
