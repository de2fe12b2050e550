"""Bounded queue labels: configured queues always pass; unknown ones are admitted until
the cap of distinct names is reached, then counted under ``queue="other"``.

The admitted set lives in Redis so every ingest worker agrees on it; a small Lua script
makes check-and-add atomic. Each worker caches the answers, so Redis is asked once per
name, not once per event.
"""

from __future__ import annotations

from collections.abc import Collection

from redis.asyncio import Redis

OVERFLOW_QUEUE = "other"
_LOCAL_CACHE_LIMIT = 100_000

_ADMIT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class QueueCap:
    def __init__(
        self, redis: Redis, prefix: str, configured: Collection[str], max_queues: int
    ) -> None:
        self.redis = redis
        self.key = f"{prefix}:queues"
        self.configured = frozenset(configured)
        self.max_queues = max_queues
        self.admitted: set[str] = set()
        self.refused: set[str] = set()
        self._script = redis.register_script(_ADMIT)

    async def admit(self, queue: str) -> str:
        """The queue label to count this event under."""
        if queue in self.configured or queue in self.admitted:
            return queue
        if queue in self.refused:
            return OVERFLOW_QUEUE
        ok = await self._script(keys=[self.key], args=[queue, self.max_queues])
        if ok:
            self.admitted.add(queue)
            return queue
        if len(self.refused) < _LOCAL_CACHE_LIMIT:
            self.refused.add(queue)
        return OVERFLOW_QUEUE

    @property
    def tracked(self) -> int:
        return len(self.configured | self.admitted)
