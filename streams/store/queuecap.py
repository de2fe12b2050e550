"""Bounded queue labels: configured queues always pass; unknown ones are admitted until
the cap of distinct names is reached, then counted under ``queue="other"``.

The admitted set lives in Redis so every ingest worker agrees on it; a small Lua script
makes check-and-add atomic. Each worker caches the admitted names, so Redis is asked once
per name, not once per event; once the set is full the worker holds all of its members and
asks Redis nothing more.
"""

from __future__ import annotations

from collections.abc import Collection

from ccmon.streams.store.connect import RedisClient

OVERFLOW_QUEUE = "other"

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
        self, redis: RedisClient, prefix: str, configured: Collection[str], max_queues: int
    ) -> None:
        self.redis = redis
        self.key = f"{prefix}:queues"
        self.configured = frozenset(configured)
        self.max_queues = max_queues
        self.admitted: set[str] = set()
        self.full = False  # the shared set has reached the cap: decide without Redis
        self._script = redis.register_script(_ADMIT)

    async def admit(self, queue: str) -> str:
        """The queue label to count this event under."""
        if queue in self.configured or queue in self.admitted:
            return queue
        if self.full:
            # Names are never taken out of the set: once it is full its members are final,
            # so a flood of new names costs neither a Redis round trip nor memory per name
            # (before: one script call and one cached refusal each; 100,000 names took
            # ~100 s and ~120 MB, docs/reliability.md).
            return OVERFLOW_QUEUE
        ok = await self._script(keys=[self.key], args=[queue, self.max_queues])
        if ok:
            self.admitted.add(queue)
            return queue
        self.full = True
        members = await self.redis.smembers(self.key)
        self.admitted |= {m.decode() if isinstance(m, bytes) else str(m) for m in members}
        return queue if queue in self.admitted else OVERFLOW_QUEUE

    @property
    def tracked(self) -> int:
        return len(self.configured | self.admitted)
