"""Answers Workers looking for a Manager (UPnP/SSDP), when `autodiscoverable` is on.

A taken SSDP port only costs autodiscovery: Workers can still be pointed at
the Manager with `-manager URL`, so the Manager logs a warning and goes on.
"""

from __future__ import annotations

import logging

import gevent

from flamenco_pkg.discovery import SSDPResponder

from ..config import listen_host_port

log = logging.getLogger("flamenco.ssdp")


def start(manager) -> gevent.Greenlet | None:
    if not manager.config.autodiscoverable:
        return None
    host, port = listen_host_port(manager.config)
    responder = SSDPResponder(host, port)
    try:
        responder.bind()
    except OSError as exc:
        log.warning("autodiscovery is off: cannot listen for UPnP/SSDP on %s:%d (%s); "
                    "start Workers with -manager URL instead", responder.address, responder.port, exc)
        return None
    return gevent.spawn(responder.serve_forever)
