"""Changing the configuration of a running Manager: the setup assistant and the settings editor.

Both end in `apply_config`: the new settings are validated, saved to
`flamenco-manager.yaml`, and swapped into the running Manager (its config
and variables), so nothing needs a restart except the few settings in
RESTART_KEYS, which are only read at start-up. Upstream restarts the whole
process after the setup assistant; applying in place avoids dropping
Workers' connections and is what our web UI expects.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config as config_mod
from . import Config, ConfigError, Variable, VariableValue
from ..local_storage.path_rules import PathRefused, refuse_dot_segments
from ..variables import Variables

log = logging.getLogger("flamenco.setup")

# Settings the Manager only reads at start-up (changes are saved, and used after a restart).
# (`mqtt` is only stored: nothing publishes to MQTT yet.)
RESTART_KEYS = ("listen", "database", "database_check_period", "local_manager_storage_path",
                "autodiscoverable")
# Settings naming paths on the Manager's machine: a new value may not climb with `..`.
PATH_KEYS = ("database", "local_manager_storage_path", "shared_storage_path")

# One writer at a time: read-modify-write of the file and the Manager's config.
_config_lock = threading.RLock()


class SetupError(ValueError):
    """The request cannot be applied; the message is for the user (HTTP 400)."""


# ---------------------------------------------------------------------------
# Shared storage check.


@dataclass
class StorageCheck:
    """The API's PathCheckResult."""

    path: str
    is_usable: bool
    cause: str

    def to_api(self) -> dict[str, Any]:
        return {"path": self.path, "is_usable": self.is_usable, "cause": self.cause}


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_shared_storage(path: str, manager_dirs: dict[str, Path]) -> StorageCheck:
    """Can `path` be the farm's shared storage? Raises PathRefused for `..` tricks.

    `manager_dirs` names folders of the Manager itself (program, config,
    local storage) that must not double as shared storage.
    """
    path = path.strip()
    if not path:
        return StorageCheck(path, False, "an empty path cannot be used as shared storage")
    refuse_dot_segments(path)
    if path.startswith(("\\\\", "//")):
        return StorageCheck(path, False, "network (UNC) paths are not supported; "
                                         "mount the share or map it to a drive letter first")
    if not os.path.isabs(path):
        return StorageCheck(path, False, "give an absolute path, as Workers see no working folder")
    try:
        is_dir = os.path.isdir(path)
        exists = is_dir or os.path.exists(path)
    except OSError as exc:
        return StorageCheck(path, False, f"cannot look at this path: {exc.strerror or exc}")
    if not exists:
        return StorageCheck(path, False, "this path does not exist; choose an existing folder")
    if not is_dir:
        return StorageCheck(path, False, "this is a file, not a folder")
    for what, folder in manager_dirs.items():
        if _same_dir(Path(path), folder):
            return StorageCheck(path, False, f"this is the Manager's {what}; use a separate folder")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix="flamenco-writetest-", suffix=".txt") as probe:
            probe.write(b"Flamenco checks that it can write here.\n")
            probe.flush()
    except OSError as exc:
        return StorageCheck(path, False, f"cannot create files in this folder: {exc.strerror or exc}")
    return StorageCheck(path, True, "this folder can be used as shared storage")


# ---------------------------------------------------------------------------
# Building a new configuration.


def config_from_request(body: dict[str, Any], current: Config, source: str = "configuration") -> Config:
    """Validate the settings editor's document (PUT /configuration/file) into a Config.

    Raises ConfigError naming the field. A masked password keeps the stored one.
    A path setting given a new value may not climb with `..` (judged on the
    text as sent: the reader would otherwise resolve it away); an unchanged
    value is not judged again, so saving back what GET gave always works.
    A document without `auth` keeps the running `auth` settings.
    """
    shown = config_mod.config_to_dict(current)
    for key in PATH_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value != shown.get(key):
            try:
                refuse_dot_segments(value)
            except PathRefused as exc:
                raise ConfigError(source, key, str(exc)) from None
    new = config_mod.config_from_dict(body, source=source, previous=current)
    if "auth" not in body:  # an editor that does not know the switch may not turn users off by leaving it out
        new.auth = copy.deepcopy(current.auth)
    return new


def blender_command(choice: dict[str, Any]) -> str | None:
    """What the `blender` variable should hold for the setup assistant's choice; None keeps the defaults.

    A command found on $PATH (or through the file association) stays a bare
    command, so Workers look it up themselves; a checked path is used as is.
    """
    source = choice.get("source")
    if source == "default":
        return None
    if choice.get("is_usable") is not True:
        raise SetupError(f"the chosen Blender ({choice.get('path') or choice.get('input')}) "
                         f"did not pass its check: {choice.get('cause', '')}")
    if source == "file_association":
        return "blender"
    command = (choice.get("input") if source == "path_envvar" else choice.get("path")) or ""
    command = command.strip()
    if not command:
        raise SetupError("the chosen Blender has no path")
    try:
        refuse_dot_segments(command)
    except PathRefused as exc:
        raise SetupError(f"Blender path: {exc}") from None
    return command


def _with_platform_value(var: Variable, platform: str, value: str) -> Variable:
    """`var` with `value` for `platform`; values for other platforms are kept."""
    values = []
    for old in var.values:
        others = tuple(p for p in old.platforms if p != platform)
        if others:
            values.append(VariableValue(old.value, others, old.audience))
    values.append(VariableValue(value, (platform,), "all"))
    return Variable(values=values, is_twoway=var.is_twoway)


def setup_assistant_config(current: Config, storage: str, blender: str | None,
                           platform: str | None = None) -> Config:
    """`current` with the setup assistant's choices: shared storage, `blender`, `blenderArgs`.

    The chosen Blender is set for the Manager's own platform only (upstream
    sets it for all three, which hands a Linux path to Windows Workers).
    """
    platform = platform or config_mod.manager_platform()
    new = copy.deepcopy(current)
    new.shared_storage_path = storage
    if blender is not None:
        base = new.variables.get("blender") or config_mod.default_variables()["blender"]
        new.variables["blender"] = _with_platform_value(base, platform, blender)
    new.variables["blenderArgs"] = Variable(values=[VariableValue(config_mod.DEFAULT_BLENDER_ARGS, ("all",))])
    # Through the validating reader, so the result is what loading the file would give.
    return config_mod.config_from_dict(config_mod.config_to_dict(new), source="setup assistant",
                                       previous=current)


# ---------------------------------------------------------------------------
# Saving and applying.


def needs_restart(old: Config, new: Config) -> list[str]:
    before, after = config_mod.config_to_dict(old), config_mod.config_to_dict(new)
    return [key for key in RESTART_KEYS if before.get(key) != after.get(key)]


def manager_dirs(manager: Any) -> dict[str, Path]:
    """Folders of the Manager itself, which must not double as shared storage."""
    from ..cli import executable_dir

    return {"program folder": executable_dir(),
            "configuration folder": Path(manager.config_path).absolute().parent,
            "local storage folder": Path(manager.task_logs.root)}


def apply_config(manager: Any, new: Config, what: str) -> None:
    """Save `new` to the Manager's config file, then make the running Manager use it.

    The file is written first (atomically): if that fails, nothing changes.
    """
    with _config_lock:
        config_mod.write_config(new, manager.config_path)
        old = manager.config
        manager.config = new
        manager.variables = Variables.from_config(new)
    for listener in manager.config_listeners:  # e.g. MQTT reconnects with the new settings
        listener(old, new)
    later = needs_restart(old, new)
    log.info("%s: configuration saved to %s and applied", what, manager.config_path)
    if later:
        log.warning("%s: %s changed; this takes effect when the Manager restarts", what, ", ".join(later))


def update_from_request(manager: Any, body: dict[str, Any]) -> None:
    """PUT /configuration/file: validate, save, apply. Raises ConfigError (400) or OSError."""
    with _config_lock:
        new = config_from_request(body, manager.config)
        apply_config(manager, new, "settings editor")


def run_setup_assistant(manager: Any, body: dict[str, Any]) -> None:
    """POST /configuration/setup-assistant: check the choices, save, apply.

    Raises PathRefused or SetupError (400), OSError when the file cannot be written.
    """
    check = check_shared_storage(body["storageLocation"], manager_dirs(manager))
    if not check.is_usable:
        raise SetupError(f"shared storage {check.path!r}: {check.cause}")
    blender = blender_command(body["blenderExecutable"])
    with _config_lock:
        new = setup_assistant_config(manager.config, check.path, blender)
        apply_config(manager, new, "setup assistant")
