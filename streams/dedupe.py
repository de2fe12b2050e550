"""The duplicate guard: one Redis ``SET NX GET`` per event.

The value stored is the position ``partition:offset`` of the repartition record that
carried the event first. A second record with the same ``event_id`` at another position
is a duplicate (producer retry, webhook replay, re-forward after an ingest crash). The
*same* position means our own record replayed after a crash: it is let through and the
per-key offsets of :mod:`agents.ledger` decide what still needs applying. Together they
give an exactly-once effect; docs/architecture.md states the guarantee and its limits.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    NEW = "new"
    REPLAY = "replay"
    DUPLICATE = "duplicate"


class DuplicateGuard:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl_seconds

    def key(self, event_id: str) -> str:
        return f"{self.prefix}:seen:{event_id}"

    async def check(self, event_id: str, position: str) -> Verdict:
        return (await self.check_many([(event_id, position)]))[0]

    async def check_many(self, items: Sequence[tuple[str, str]]) -> list[Verdict]:
        """One pipelined round trip for a batch of (event_id, position), in order: a
        duplicate inside the batch sees its first occurrence's mark.

        Never counts without the guard: while Redis is unreachable it waits and retries, so
        consumption pauses (and the lag alert fires) instead of double counting."""
        if not items:
            return []
        delay = 0.1
        while True:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for event_id, position in items:
                        pipe.set(self.key(event_id), position, nx=True, get=True, ex=self.ttl)
                    olds = await pipe.execute()
                break
            except RedisError as exc:
                log.warning(
                    "duplicate guard: Redis unavailable (%s); retrying in %.1fs", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return [_verdict(old, position) for old, (_, position) in zip(olds, items, strict=True)]


def _verdict(old: object, position: str) -> Verdict:
    if old is None:
        return Verdict.NEW
    seen = old.decode() if isinstance(old, bytes) else str(old)
    return Verdict.REPLAY if seen == position else Verdict.DUPLICATE
