"""The wallboard read model in Redis: one JSON document per channel x queue, refreshed every
second with a short TTL, so a queue that moved to another worker leaves no stale copy.

Key: ``{prefix}:live:{channel}:{queue}``. Readers (wallboards, chat-ops bots) GET it or
SCAN ``{prefix}:live:*``; docs/metrics.md documents the fields.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ccmon.agents import buckets as b
from ccmon.agents.metrics.source import ReadModelSource
from ccmon.agents.metrics.staffing import occupancy
from ccmon.agents.readmodel import QueueView, ReadModel
from ccmon.agents.runtime import Runtime

log = logging.getLogger(__name__)


def window_documents(view: QueueView) -> dict[str, dict[str, float | None]]:
    variant = view.policy.variant
    return {
        name: b.kpis(view.windows.get(name, {}), variant)
        | {"offered": view.windows.get(name, {}).get(b.OFFERED, 0.0)}
        for name in b.WINDOWS
    }


def document(
    view: QueueView, now: float, windows: dict[str, dict[str, float | None]] | None = None
) -> dict[str, object]:
    p = view.policy
    if windows is None:
        windows = window_documents(view)
    return {
        "channel": view.channel,
        "queue": view.queue,
        "at": now,
        "waiting": view.waiting,
        "oldest_waiting_seconds": (
            None if view.oldest_waiting_since is None else now - view.oldest_waiting_since
        ),
        "tickets_open": view.tickets_open,
        "tickets_overdue": view.tickets_overdue,
        "target": {
            "service_level": p.target_ratio,
            "threshold_seconds": p.threshold_seconds,
            "variant": p.variant,
        },
        "windows": windows,
        "agents": agents_document(view),
    }


def agents_document(view: QueueView) -> dict[str, object]:
    """Agents per state and the forecast: what the wall page's agent tiles read."""
    fc = view.forecast
    return {
        "staffed": view.staffed,
        "available": view.agents.get("available", 0),
        "on_contact": view.agents.get("on_contact", 0),
        "after_contact_work": view.agents.get("after_contact_work", 0),
        "not_ready": dict(sorted(view.not_ready.items())),
        "occupancy": {w: occupancy(view.windows.get(w, {})) for w in b.WINDOWS},
        "forecast": None
        if fc is None
        else {
            "model": fc.model,
            "service_level_predicted": fc.predicted,
            "required": fc.required,
            "shortfall": fc.shortfall,
            "offered_load_erlangs": fc.inputs.traffic,
            "handle_time_seconds": fc.inputs.aht,
            "patience_seconds": fc.inputs.patience,
        },
    }


class Publisher:
    """Writes every owned queue's document each second (their TTL proves they are live);
    the windows part is recomputed only for queues whose view changed."""

    def __init__(self, redis: Redis, prefix: str, ttl: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self._windows: dict[tuple[str, str], tuple[QueueView, Any]] = {}

    async def publish(self, model: ReadModel) -> None:
        if not model.queues:
            return
        fresh: dict[tuple[str, str], tuple[QueueView, Any]] = {}
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, view in model.queues.items():
                    cached = self._windows.get(key)
                    windows = cached[1] if cached and cached[0] is view else None
                    if windows is None:
                        windows = window_documents(view)
                    fresh[key] = (view, windows)
                    pipe.set(
                        f"{self.prefix}:live:{key[0]}:{key[1]}",
                        orjson.dumps(document(view, model.now, windows)),
                        ex=self.ttl,
                    )
                await pipe.execute()
        except RedisError as exc:  # the wallboard is stale for a second; counting goes on
            log.warning("snapshot not published: %s", exc)
        self._windows = fresh


def register_publisher(app: faust.App, runtime: Runtime, source: ReadModelSource) -> None:
    settings = runtime.settings

    publisher = Publisher(runtime.redis, settings.redis_prefix, settings.snapshot_ttl_seconds)

    @app.timer(interval=settings.snapshot_interval_seconds, name="ccmon.snapshot")
    async def publish_snapshot() -> None:
        model = source.get()
        runtime.pipeline.readmodel_seconds.set(model.built_in_seconds)
        await publisher.publish(model)
