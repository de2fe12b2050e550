"""The wallboard read model in Redis: one JSON document per channel x queue, refreshed every
second with a short TTL, so a queue that moved to another worker leaves no stale copy.

Key: ``{prefix}:live:{channel}:{queue}``. Readers (wallboards, chat-ops bots) GET it or
SCAN ``{prefix}:live:*``; docs/metrics.md documents the fields.
"""

from __future__ import annotations

import logging

import faust
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ccmon.agents import buckets as b
from ccmon.agents.metrics.source import ReadModelSource
from ccmon.agents.readmodel import QueueView, ReadModel
from ccmon.agents.runtime import Runtime

log = logging.getLogger(__name__)


def document(view: QueueView, now: float) -> dict[str, object]:
    p = view.policy
    windows = {
        name: {k: v for k, v in b.kpis(view.windows.get(name, {}), p.variant).items()}
        | {"offered": view.windows.get(name, {}).get(b.OFFERED, 0.0)}
        for name in b.WINDOWS
    }
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
    }


async def publish(redis: Redis, prefix: str, model: ReadModel, ttl: int) -> None:
    if not model.queues:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for (channel, queue), view in model.queues.items():
                pipe.set(
                    f"{prefix}:live:{channel}:{queue}",
                    orjson.dumps(document(view, model.now)),
                    ex=ttl,
                )
            await pipe.execute()
    except RedisError as exc:  # the wallboard is stale for a second; counting goes on
        log.warning("snapshot not published: %s", exc)


def register_publisher(app: faust.App, runtime: Runtime, source: ReadModelSource) -> None:
    settings = runtime.settings

    @app.timer(interval=settings.snapshot_interval_seconds, name="ccmon.snapshot")
    async def publish_snapshot() -> None:
        model = source.get()
        runtime.pipeline.readmodel_seconds.set(model.built_in_seconds)
        await publish(runtime.redis, settings.redis_prefix, model, settings.snapshot_ttl_seconds)
