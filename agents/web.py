"""The worker's web port: ``/metrics`` and ``/healthz``, nothing else (Faust's table and
router pages are switched off in :mod:`ccmon.agents.app`: they would serve contact ids)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST


def register_pages(
    app: faust.App, body: Callable[[], Awaitable[bytes]], active_partitions: Callable[[], set[int]]
) -> None:
    @app.page("/metrics", name="ccmon.metrics")
    async def metrics_page(self: View, request: Request) -> Response:
        # aiohttp refuses a charset in content_type=, so the full header goes in headers=.
        return self.bytes(await body(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz", name="ccmon.healthz")
    async def health_page(self: View, request: Request) -> Response:
        return self.json({"status": "ok", "partitions": sorted(active_partitions())})
