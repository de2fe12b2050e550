"""The wall server: one static page, its feed (Server-Sent Events, and the same state as
JSON), and ``/healthz``. Read-only: no route changes anything, and what it serves is built
from aggregates only (:mod:`ccmon.agents.wall.tiles`).

Routes: ``/`` the page, ``/static/*`` its CSS and JavaScript, ``/feed`` the event stream,
``/api/state`` one state as JSON, ``/healthz`` liveness, ``/metrics`` the server's own
(:mod:`ccmon.agents.wall.exporter`). With a token or Basic credentials configured,
everything but ``/healthz``, ``/metrics`` and ``/static/*`` (which hold no data of the
contact centre) needs them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ccmon.agents.wall import exporter
from ccmon.agents.wall.alerts import AlertWatcher
from ccmon.agents.wall.board import board
from ccmon.agents.wall.feed import Feed
from ccmon.agents.wall.screens import ScreenError, View, resolve
from ccmon.agents.wall.tiles import Tile, worst_tile
from ccmon.agents.wall.wallconfig import WallFile
from ccmon.streams.store.connect import redis_client

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
PUBLIC = frozenset({"/healthz", "/metrics"})  # no data of the contact centre: no credentials
HEARTBEAT_SECONDS = 1.0  # a screen hears from us at least this often, changed or not
RETRY_MS = 1000  # EventSource's reconnection delay after a dropped stream
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= must not leak through a Referer
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class WallConfig:
    redis: str
    prefix: str
    stale_after: float
    ttl: float
    alertmanager: str = ""
    alert_matcher: str = 'severity="page"'
    token: str = ""
    basic_auth: str = ""
    timezone: str = ""
    language: str = "en"
    screens: WallFile = field(default_factory=WallFile)


def _authorized(request: web.Request, config: WallConfig) -> bool:
    if not config.token and not config.basic_auth:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if config.token:
        offered = request.query.get("token", "")
        if scheme.lower() == "bearer":
            offered = credentials.strip()
        if offered and hmac.compare_digest(offered.encode(), config.token.encode()):
            return True
    if config.basic_auth and scheme.lower() == "basic":
        try:
            given = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, config.basic_auth.encode())
    return False


def auth_middleware(config: WallConfig) -> Any:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        public = request.path in PUBLIC or request.path.startswith("/static/")
        if not public and not _authorized(request, config):
            headers = {"WWW-Authenticate": 'Basic realm="ccmon wall"'} if config.basic_auth else {}
            raise web.HTTPUnauthorized(text="ccmon wall: authentication required", headers=headers)
        response = await handler(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return middleware


def worst_metric_of(tile: Tile) -> str:
    """The metric the header names: the tile's worst, else its headline number."""
    return str(tile["worst"] or ("overdue" if tile["kind"] == "ticket" else "sl_30m"))


class Wall:
    """What the routes share: the feed, the alert watcher, the configuration."""

    def __init__(self, config: WallConfig, feed: Feed, alerts: AlertWatcher | None) -> None:
        self.config = config
        self.feed = feed
        self.alerts = alerts
        self.screens = exporter.Screens()
        self.registry = exporter.registry(exporter.WallCollector(feed, alerts, self.screens))

    def view(self, request: web.Request) -> View:
        """The screen this request asks for, now; HTTPBadRequest saying why it cannot be."""
        try:
            view = resolve(
                request.query, self.config.screens, self.config.language, self.feed.clock()
            )
        except ScreenError as exc:
            raise web.HTTPBadRequest(text=f"ccmon wall: {exc}") from None
        return view

    def state(self, view: View) -> dict[str, Any]:
        screen = view.filter
        tiles = screen.select(self.feed.tiles()) if view.layout == "tiles" else []
        worst = worst_tile(tiles)
        alerts: dict[str, Any] = {"enabled": False, "ok": True, "error": "", "firing": []}
        if self.alerts is not None:
            alerts = self.alerts.state()
            alerts["firing"] = [
                a for a in alerts["firing"] if screen.accepts(a["channel"], a["queue"])
            ]
        now = self.feed.clock()
        return {
            "server_time": now,
            "stale_after": self.config.stale_after,
            "ttl": self.config.ttl,
            "timezone": self.config.timezone or None,
            "language": view.language,
            "screen": view.describe(),
            "source": {"ok": self.feed.source_ok, "error": self.feed.source_error},
            "alerts": alerts,
            "worst": None
            if worst is None
            else {"id": worst["id"], "metric": worst_metric_of(worst)},
            "tiles": tiles,
            "agents": board(self.feed.agent_rows(), self.config.screens, view, now)
            if view.layout == "agents"
            else None,
        }

    def _again(self, request: web.Request, view: View) -> View:
        """A rotation's next screen once its turn is over; any other screen stays."""
        rotation = view.rotation
        if rotation is None or self.feed.clock() < rotation["next_at"]:
            return view
        return self.view(request)

    async def page(self, request: web.Request) -> web.StreamResponse:
        self.view(request)  # a screen the address cannot mean is said, not shown empty
        return web.FileResponse(STATIC / "index.html")

    async def state_json(self, request: web.Request) -> web.Response:
        body = orjson.dumps(self.state(self.view(request)))
        return web.Response(body=body, content_type="application/json")

    async def events(self, request: web.Request) -> web.StreamResponse:
        view = self.view(request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx-style proxies must not hold events back
            }
        )
        await response.prepare(request)
        version = -1
        self.screens.connected += 1
        try:
            with contextlib.suppress(ConnectionResetError):  # the screen went away
                await response.write(f"retry: {RETRY_MS}\n\n".encode())
                while True:
                    version = await self.feed.wait_newer(version, HEARTBEAT_SECONDS)
                    view = self._again(request, view)
                    payload = orjson.dumps(self.state(view))
                    await response.write(b"data: " + payload + b"\n\n")
                    self.screens.messages += 1
        finally:
            self.screens.connected -= 1
        return response

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def health(self, request: web.Request) -> web.Response:
        # Alive while it serves: an unreachable Redis is shown on the screens as delayed
        # data, so it must not take the page away by failing a probe.
        body = {
            "status": "ok",
            "read_model": self.feed.source_ok,
            "queues": len(self.feed.entries),
            "alertmanager": None if self.alerts is None else self.alerts.ok,
        }
        return web.json_response(body)


def build_web_app(config: WallConfig) -> web.Application:
    app = web.Application(middlewares=[auth_middleware(config)])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        redis = redis_client(config.redis, socket_timeout=5, socket_connect_timeout=5)
        feed = Feed(redis, config.prefix, config.stale_after)
        feed.agent_board = config.screens.agent_board
        alerts = (
            AlertWatcher(config.alertmanager, config.alert_matcher) if config.alertmanager else None
        )
        wall = Wall(config, feed, alerts)
        app["wall"] = wall
        jobs: list[asyncio.Task[None]] = [
            asyncio.create_task(job(), name=job.__name__) for job in feed.tasks()
        ]
        if alerts is not None:
            jobs.append(asyncio.create_task(alerts.run(), name="alerts"))
        yield
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await redis.aclose()

    def route(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            method: Callable[[web.Request], Awaitable[web.StreamResponse]] = getattr(
                request.app["wall"], name
            )
            return await method(request)

        return handler

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/", route("page"))
    app.router.add_get("/feed", route("events"))
    app.router.add_get("/api/state", route("state_json"))
    app.router.add_get("/healthz", route("health"))
    app.router.add_get("/metrics", route("metrics"))
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    return app
