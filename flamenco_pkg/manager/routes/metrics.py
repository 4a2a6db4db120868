"""`GET /metrics`: Prometheus metrics in the text exposition format (outside the Flamenco API)."""

from __future__ import annotations

import bottle

from ..metrics import CONTENT_TYPE


def mount(app: bottle.Bottle, manager) -> None:
    @app.get("/metrics")
    def metrics() -> bottle.HTTPResponse:
        resp = bottle.HTTPResponse(manager.metrics.render())
        resp.content_type = CONTENT_TYPE
        return resp
