"""`/upnp/description.xml`: the UPnP device description that SSDP replies point to."""

from __future__ import annotations

import bottle

from flamenco_pkg.discovery import DESCRIPTION_PATH, description_xml


def mount(app: bottle.Bottle, manager) -> None:
    @app.get(DESCRIPTION_PATH)
    def upnp_description() -> bottle.HTTPResponse:
        root = bottle.request.urlparts.scheme + "://" + bottle.request.urlparts.netloc + "/"
        resp = bottle.HTTPResponse(description_xml(manager.config.manager_name, root))
        resp.content_type = "text/xml; charset=utf-8"
        return resp
