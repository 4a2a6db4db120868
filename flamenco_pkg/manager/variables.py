"""Configuration variables: ``{name}`` placeholders and two-way path mapping.

Pure functions over a :class:`Variables` model (no I/O, no logging):

* submission (algorithm A): a path as the submitting user sees it becomes
  ``{name}/rest`` using two-way variables, so the stored job is platform-neutral;
* hand-out (algorithm B): ``{name}`` becomes the value for the Worker's platform,
  and paths the Manager wrote in its own notation (like the implicit ``{jobs}``)
  are mapped onto the Worker's platform.

The stored job keeps its placeholders; only the copies sent out are expanded.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Mapping

from .config import (
    Config,
    Variable,
    VariableValue,
    effective_storage_path,
)
from .config import manager_platform as _this_platform

__all__ = [
    "CONCRETE_AUDIENCES",
    "IMPLICIT_JOBS",
    "Variables",
    "ensure_drive_absolute",
    "to_platform_path",
    "trim_trailing_separators",
]

CONCRETE_AUDIENCES = ("workers", "users")
PLATFORM_ALL = "all"
IMPLICIT_JOBS = "jobs"
# Submitters may say "manager" instead of naming the Manager's OS.
PLATFORM_MANAGER = "manager"

_SEPARATORS = "/\\"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


# ---------------------------------------------------------------------------
# Cross-platform path text helpers. They never touch the file system: the
# paths usually belong to another machine.


def trim_trailing_separators(path: str) -> str:
    """Drop trailing ``/`` and ``\\`` so ``/path/`` and ``/path`` map alike; a bare root stays."""
    if not path:
        return path
    trimmed = path.rstrip(_SEPARATORS)
    return trimmed or path[0]


def _is_drive_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def ensure_drive_absolute(path: str) -> str:
    """Turn ``F:`` and ``F:dir`` into ``F:\\`` and ``F:\\dir``; a drive letter alone is drive-relative on Windows."""
    if len(path) < 2 or not _is_drive_letter(path[0]) or path[1] != ":":
        return path
    if len(path) == 2:
        return path + "\\"
    if path[2] == "\\":
        return path
    return path[:2] + "\\" + path[2:]


def to_platform_path(path: str, platform: str) -> str:
    """Rewrite every ``/`` and ``\\`` as `platform`'s separator, collapsing repeats.

    Leading separators are kept (``/abs`` stays absolute, ``\\\\NAS\\share`` stays UNC);
    empty parts elsewhere and trailing separators disappear.
    """
    if not path:
        return path
    leading = len(path) - len(path.lstrip(_SEPARATORS))
    parts = [""] * leading + [p for p in re.split(r"[/\\]", path) if p]
    sep = "\\" if platform == "windows" else "/"
    result = sep.join(parts)
    if platform == "windows":
        result = ensure_drive_absolute(result)
    return result


def _norm_char(ch: str, fold_case: bool) -> str:
    if ch == "\\":
        return "/"
    return ch.lower() if fold_case else ch


def _starts_with_path(value: str, prefix: str, *, fold_case: bool) -> bool:
    """Whether `prefix` is a leading path of `value` (``\\`` and ``/`` count as equal).

    Unlike upstream, the match must end at a path boundary: ``/data/proj`` is a
    prefix of ``/data/proj/x`` but not of ``/data/project/x``.
    """
    n = len(prefix)
    if n == 0 or len(value) < n:
        return False
    for a, b in zip(value, prefix):
        if _norm_char(a, fold_case) != _norm_char(b, fold_case):
            return False
    return len(value) == n or prefix[-1] in _SEPARATORS or value[n] in _SEPARATORS


# ---------------------------------------------------------------------------


class Variables:
    """Variable values per (audience, platform), built once per configuration.

    Immutable after construction; rebuild it when the configuration changes.
    """

    def __init__(
        self,
        variables: Mapping[str, Variable],
        *,
        manager_platform: str,
        storage_location: str = "",
    ) -> None:
        self.manager_platform = manager_platform.lower()
        # The effective job storage as the Manager sees it; also the implicit {jobs}.
        self.storage_location = storage_location
        self._two_way: set[str] = set()
        # audience -> platform -> name -> value
        self._table: dict[str, dict[str, dict[str, str]]] = {aud: {} for aud in CONCRETE_AUDIENCES}
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

        for name, var in variables.items():
            if name == IMPLICIT_JOBS:
                continue  # the implicit variable wins
            self._add(name, var)
        # One-way on purpose: the Manager cannot know how other platforms reach it.
        self._add(IMPLICIT_JOBS, Variable(values=[VariableValue(storage_location, (PLATFORM_ALL,))]))

    @classmethod
    def from_config(cls, cfg: Config, manager_platform: str | None = None) -> "Variables":
        """Model for `cfg`, as seen by a Manager on `manager_platform` (default: this machine)."""
        plat = manager_platform or _this_platform()
        return cls(cfg.variables, manager_platform=plat, storage_location=effective_storage_path(cfg, plat))

    def _add(self, name: str, var: Variable) -> None:
        if var.is_twoway:
            self._two_way.add(name)
        for val in var.values:
            value = trim_trailing_separators(val.value) if var.is_twoway else val.value
            audiences = CONCRETE_AUDIENCES if val.audience in ("", "all") else (val.audience,)
            for aud in audiences:
                per_platform = self._table.setdefault(aud, {})
                for plat in val.platforms:
                    per_platform.setdefault(plat.lower(), {})[name] = value

    # -- lookups --

    @staticmethod
    def _check_audience(audience: str) -> str:
        if audience not in CONCRETE_AUDIENCES:
            raise ValueError(f"audience {audience!r} is not one of {', '.join(CONCRETE_AUDIENCES)}")
        return audience

    def _resolve(self, audience: str, platform: str) -> dict[str, str]:
        """name -> value for this pair: platform ``all`` is the base, the specific platform overrides."""
        key = (self._check_audience(audience), platform.lower())
        found = self._cache.get(key)
        if found is None:
            per_platform = self._table.get(audience, {})
            found = dict(per_platform.get(PLATFORM_ALL, {}))
            found.update(per_platform.get(key[1], {}))
            self._cache[key] = found
        return found

    def is_two_way(self, name: str) -> bool:
        return name in self._two_way

    def values_for(self, audience: str, platform: str, *, two_way: bool | None = None) -> dict[str, str]:
        """name -> value for (audience, platform), optionally only the two-way or one-way ones."""
        resolved = self._resolve(audience, platform)
        if two_way is None:
            return dict(resolved)
        return {n: v for n, v in resolved.items() if (n in self._two_way) == two_way}

    def lookup(self, audience: str, platform: str) -> dict[str, dict[str, Any]]:
        """Payload of ``GET /configuration/variables/{audience}/{platform}``."""
        resolved = self._resolve(audience, platform)
        return {
            name: {"value": resolved[name], "is_twoway": name in self._two_way} for name in sorted(resolved)
        }

    # -- algorithm A: submission --

    def _submit_platform(self, platform: str) -> str:
        plat = platform.lower()
        return self.manager_platform if plat == PLATFORM_MANAGER else plat

    def replace_two_way_on_submit(self, value: str, platform: str, audience: str = "workers") -> str:
        """``/Volumes/Shared/flamenco/x`` -> ``{my_storage}/x`` using `platform`'s two-way values.

        Case-insensitive, ``\\`` equals ``/``; the longest matching value wins (upstream
        tries them in random order). The rest of the string is kept as written.
        """
        candidates = self.values_for(audience, self._submit_platform(platform), two_way=True)
        for name, prefix in sorted(candidates.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            if _starts_with_path(value, prefix, fold_case=True):
                return "{" + name + "}" + value[len(prefix) :]
        return value

    def apply_to_submission(
        self, settings: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None, platform: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Algorithm A over a submitted job: top-level string settings and all metadata values.

        Returns new dicts; nested settings and non-string values are passed through.
        """
        new_settings = {
            k: self.replace_two_way_on_submit(v, platform) if isinstance(v, str) else v
            for k, v in (settings or {}).items()
        }
        new_metadata = {
            k: self.replace_two_way_on_submit(v, platform) if isinstance(v, str) else v
            for k, v in (metadata or {}).items()
        }
        return new_settings, new_metadata

    # -- algorithm B: hand-out --

    def expand(
        self,
        value: str,
        platform: str,
        audience: str = "workers",
        *,
        manager_platform: str | None = None,
    ) -> str:
        """Expand one string for a client on `platform` (algorithm B, steps a-d)."""
        plat = platform.lower()
        mgr = (manager_platform or self.manager_platform).lower()
        one_way = self.values_for(audience, plat, two_way=False)
        target_two_way = self.values_for(audience, plat, two_way=True)

        # a. one-way placeholders (this includes {jobs}); single pass, no recursion.
        result = _PLACEHOLDER.sub(lambda m: one_way.get(m.group(1), m.group(0)), value)

        # b. two-way placeholders get the target platform's value; the result is a path.
        is_path = False

        def two_way_sub(m: re.Match[str]) -> str:
            nonlocal is_path
            name = m.group(1)
            if name in target_two_way:
                is_path = True
                return target_two_way[name]
            return m.group(0)

        result = _PLACEHOLDER.sub(two_way_sub, result)

        # c. a path in the Manager's notation (e.g. from {jobs}) is moved onto the
        #    target platform through a two-way variable known on both sides.
        manager_two_way = self.values_for(audience, mgr, two_way=True)
        candidates = [
            (name, mgr_value)
            for name, mgr_value in manager_two_way.items()
            if mgr_value and name in target_two_way
        ]
        for name, mgr_value in sorted(candidates, key=lambda kv: (-len(kv[1]), kv[0])):
            if _starts_with_path(result, mgr_value, fold_case=False):
                result = target_two_way[name] + result[len(mgr_value) :]
                if plat == "windows":
                    result = ensure_drive_absolute(result)
                is_path = True
                break

        # d. paths get the target's separators; one-way-only values are left alone.
        if is_path:
            result = to_platform_path(result, plat)
        return result

    def _expand_param(self, value: Any, platform: str, manager_platform: str | None) -> Any:
        if isinstance(value, str):
            return self.expand(value, platform, manager_platform=manager_platform)
        if isinstance(value, list):
            return [
                self.expand(item, platform, manager_platform=manager_platform) if isinstance(item, str) else item
                for item in value
            ]
        return value

    def expand_for_worker(
        self,
        commands: Iterable[Mapping[str, Any]],
        worker_platform: str,
        manager_platform: str | None = None,
    ) -> list[dict[str, Any]]:
        """Commands of a task as sent to a Worker: parameters expanded for its platform.

        Strings and string items of arrays are expanded; nested objects are left
        untouched. Returns new structures, so the stored task keeps its placeholders.
        """
        expanded = []
        for command in commands:
            new_command = _copy_json(dict(command))
            params = new_command.get("parameters")
            if isinstance(params, dict):
                new_command["parameters"] = {
                    key: self._expand_param(val, worker_platform, manager_platform) for key, val in params.items()
                }
            expanded.append(new_command)
        return expanded

    def shared_storage_for(self, audience: str, platform: str) -> str:
        """The job storage location as a client on `platform` reaches it (``GET /configuration/shared-storage``)."""
        return self.expand(self.storage_location, platform, audience)


def _copy_json(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts, lists, scalars), in less than half `copy.deepcopy`'s time."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)
