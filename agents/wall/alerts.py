"""Firing ``page`` alerts for the red banner, read from Alertmanager's API (v2).

Only active alerts that are neither silenced nor inhibited count: a silenced page is one
somebody already handles. Of each alert the banner gets the name, the channel and queue
labels and the summary annotation, nothing else (labels of other rules sharing the
Alertmanager may hold anything). An unreachable Alertmanager is said on the screen: an
empty banner must mean "nothing pages", never "we could not ask".
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0
TIMEOUT_SECONDS = 4.0
MAX_SHOWN = 20


@dataclass
class AlertWatcher:
    url: str  # Alertmanager's base URL, e.g. http://alertmanager:9093
    matcher: str = 'severity="page"'
    poll_seconds: float = POLL_SECONDS
    firing: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = False
    error: str = "not asked yet"
    checked_at: float | None = None
    errors: int = 0  # failed polls (the wall's /metrics)

    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/api/v2/alerts"

    async def poll_once(self, session: aiohttp.ClientSession) -> None:
        params = {
            "active": "true",
            "silenced": "false",
            "inhibited": "false",
            "filter": self.matcher,
        }
        try:
            async with session.get(
                self.endpoint(), params=params, timeout=aiohttp.ClientTimeout(TIMEOUT_SECONDS)
            ) as response:
                response.raise_for_status()
                alerts = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.errors += 1
            if self.ok:
                log.warning("Alertmanager %s unreachable: %r", self.url, exc)
            self.ok, self.error = False, f"Alertmanager unreachable ({type(exc).__name__})"
            return
        self.firing = summarise(alerts)
        self.ok, self.error, self.checked_at = True, "", time.time()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                await self.poll_once(session)
                await asyncio.sleep(self.poll_seconds)

    def state(self) -> dict[str, Any]:
        return {"enabled": True, "ok": self.ok, "error": self.error, "firing": self.firing}


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def summarise(alerts: object) -> list[dict[str, Any]]:
    """Alertmanager's alert list -> what the banner shows, oldest first, deduplicated."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for alert in alerts if isinstance(alerts, list) else []:
        if not isinstance(alert, dict):
            continue
        labels = alert.get("labels") or {}
        annotations = alert.get("annotations") or {}
        if not isinstance(labels, dict) or not isinstance(annotations, dict):
            continue
        item = {
            "name": _text(labels.get("alertname"), 100) or "alert",
            "channel": _text(labels.get("channel"), 20),
            "queue": _text(labels.get("queue"), 100),
            "summary": _text(annotations.get("summary"), 200),
            "since": _text(alert.get("startsAt"), 40),
        }
        out.setdefault((item["name"], item["channel"], item["queue"]), item)
    ordered = sorted(out.values(), key=lambda a: (a["since"] or "", a["name"]))
    return ordered[:MAX_SHOWN]
