"""The configuration part of the `meta` API tag: settings file, setup assistant and its checks.

(Version, variables, shared storage and farm status live in `meta.py`.)
"""

from __future__ import annotations

import logging
from typing import Any

from ..config import blender_check
from ..config import setup_assistant
from ..config import ConfigError, redacted_config_dict
from ..context import Manager
from ..local_storage.path_rules import PathRefused
from .common import NO_CONTENT, ManagerError, ApiRequest, Reply

log = logging.getLogger("flamenco.setup")


def _body(r: ApiRequest, example: str) -> dict[str, Any]:
    """The JSON body; upstream's spec leaves it optional, but these operations cannot work without it."""
    if r.body is None:
        raise ManagerError(400, f"request body is missing: send a JSON object like {example}")
    return r.body


PATH_EXAMPLE = '{"path": "/some/path"}'


def get_configuration_file(m: Manager, r: ApiRequest) -> dict[str, Any]:
    """The running configuration in the file's shape, with the MQTT password masked."""
    return redacted_config_dict(m.config)


def update_configuration_file(m: Manager, r: ApiRequest) -> Reply:
    try:
        setup_assistant.update_from_request(m, r.body)
    except ConfigError as exc:
        raise ManagerError(400, str(exc)) from None
    except OSError as exc:
        log.error("cannot save the configuration to %s: %s", m.config_path, exc)
        raise ManagerError(500, f"cannot save the configuration file: {exc.strerror or exc}") from None
    return NO_CONTENT


def check_shared_storage_path(m: Manager, r: ApiRequest) -> dict[str, Any]:
    try:
        path = _body(r, PATH_EXAMPLE)["path"]
        result = setup_assistant.check_shared_storage(path, setup_assistant.manager_dirs(m))
    except PathRefused as exc:
        raise ManagerError(400, f"path: {exc}") from None
    return result.to_api()


def find_blender_exe_path(m: Manager, r: ApiRequest) -> list[dict[str, Any]]:
    return [found.to_api() for found in blender_check.find_blender()]


def check_blender_exe_path(m: Manager, r: ApiRequest) -> dict[str, Any]:
    try:
        return blender_check.check_blender(_body(r, PATH_EXAMPLE)["path"]).to_api()
    except PathRefused as exc:
        raise ManagerError(400, f"path: {exc}") from None


def save_setup_assistant_config(m: Manager, r: ApiRequest) -> Reply:
    try:
        body = _body(r, '{"storageLocation": "/some/path", "blenderExecutable": {...}}')
        setup_assistant.run_setup_assistant(m, body)
    except (PathRefused, setup_assistant.SetupError, ConfigError) as exc:
        raise ManagerError(400, str(exc)) from None
    except OSError as exc:
        log.error("setup assistant: cannot save the configuration to %s: %s", m.config_path, exc)
        raise ManagerError(500, f"cannot save the configuration file: {exc.strerror or exc}") from None
    return NO_CONTENT


HANDLERS = {
    "getConfigurationFile": get_configuration_file,
    "updateConfigurationFile": update_configuration_file,
    "checkSharedStoragePath": check_shared_storage_path,
    "findBlenderExePath": find_blender_exe_path,
    "checkBlenderExePath": check_blender_exe_path,
    "saveSetupAssistantConfig": save_setup_assistant_config,
}
