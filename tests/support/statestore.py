"""The state store on the suite's shared Redis: its TTLs, and the cleanup of one test's keys."""

from __future__ import annotations

import redis.asyncio as aioredis

# The state store's safety-net TTLs by bucket kind, as a worker sets them (shortened).
STORE_TTL = {"m": 3600, "d": 86400, "p": 86400}


async def forget_prefix(redis: aioredis.Redis, prefix: str) -> None:
    """This test's keys only: the server is shared by the whole suite."""
    keys = [key async for key in redis.scan_iter(match=f"{{{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
