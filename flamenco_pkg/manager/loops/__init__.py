"""Background loops: each module defines `start(manager) -> gevent.Greenlet | None`.

Modules here are found automatically and started by the CLI once the
Manager serves requests; a module returns None when its config turns it off.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

log = logging.getLogger("flamenco.loops")


def start_all(manager) -> list:
    started = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        greenlet = module.start(manager)
        if greenlet is not None:
            started.append(greenlet)
    return started
