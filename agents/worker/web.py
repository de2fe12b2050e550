"""The worker's web port: ``/metrics`` and ``/healthz``, nothing else (Faust's table and
router pages are switched off in :mod:`ccmon.agents.worker.app`: they would serve contact ids)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST

from ccmon.agents.worker.health import Health

_PRODUCTION_INDEX = "faust.web.apps.production_index:blueprint"


def register_pages(
    app: faust.App,
    body: Callable[[], Awaitable[bytes]],
    active_partitions: Callable[[], set[int]],
    health: Health,
) -> None:
    # Faust mounts a status page at "/" whenever its statistics page is off, with no
    # setting of its own: dropped, so that the port serves these two pages and nothing else
    # (tests/integration/security/test_web.py).
    blueprints = app.web.blueprints._enabled
    blueprints[:] = [(prefix, bp) for prefix, bp in blueprints if bp != _PRODUCTION_INDEX]

    @app.page("/metrics", name="ccmon.metrics")
    async def metrics_page(self: View, request: Request) -> Response:
        # aiohttp refuses a charset in content_type=, so the full header goes in headers=.
        return self.bytes(await body(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz", name="ccmon.healthz")
    async def health_page(self: View, request: Request) -> Response:
        # 200 even when Kafka or Redis is out ("status": "degraded"): see agents.worker.health.
        return self.json(health.report(sorted(active_partitions())))
