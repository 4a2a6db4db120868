"""HTTP routes, one module per API tag or static area.

Each module may define `HANDLERS` (operationId -> function, mounted from the
OpenAPI spec with validation and auth) and/or `mount(app, manager)` for
routes outside the API (static files, downloads). New modules are found
automatically.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def route_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
            if info.name != "common"]
