"""HTTP routes, one module per API tag or static area.

Each module may define `HANDLERS` (operationId -> function, mounted from the
OpenAPI spec with validation and auth) and/or `mount(app, manager)` for
routes outside the API (static files, downloads). A new module is added to
`ROUTE_MODULES` below: the list is the one place that says what is served.
"""

from __future__ import annotations

from types import ModuleType

from . import (auth, configuration, job_control, job_files, jobs, last_rendered, meta, metrics, shaman, upnp, webapp,
               worker, worker_mgt)

ROUTE_MODULES: tuple[ModuleType, ...] = (
    auth, configuration, job_control, job_files, jobs, last_rendered, meta, metrics, shaman, upnp, webapp, worker,
    worker_mgt,
)
