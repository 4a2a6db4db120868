"""The `meta` API tag: version, configuration as clients see it, farm status."""

from __future__ import annotations

from typing import Any

from flamenco_pkg import API_VERSION, __version__

from ..config import effective_storage_path
from ..context import Manager
from .common import ApiRequest


def get_version(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return {"version": __version__, "shortversion": API_VERSION, "name": m.config.manager_name,
            "git": "python"}


def get_configuration(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return {"storageLocation": effective_storage_path(m.config), "shamanEnabled": m.config.shaman.enabled,
            "isFirstRun": m.config.is_first_run}


def get_variables(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return m.variables.lookup(r.path["audience"], r.path["platform"])


def get_shared_storage(m: Manager, r: ApiRequest) -> dict[str, Any]:
    audience, platform = r.path["audience"], r.path["platform"]
    return {"location": m.variables.shared_storage_for(audience, platform), "audience": audience,
            "platform": platform, "shamanEnabled": m.config.shaman.enabled}


def get_farm_status(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return m.farm_status_report()


HANDLERS = {
    "getVersion": get_version,
    "getConfiguration": get_configuration,
    "getVariables": get_variables,
    "getSharedStorage": get_shared_storage,
    "getFarmStatus": get_farm_status,
}
