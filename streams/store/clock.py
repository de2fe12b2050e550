"""Which "now" ends a window: the wall clock (live) or the stream's own time (replays)."""

from __future__ import annotations

import time
from typing import Any, Literal


class Clock:
    """``wall``: windows end now, so a quiet queue still rolls forward. ``stream``: windows
    end at the largest event time this worker has seen, so a replay or an accelerated
    simulation shows the numbers it would have shown live. Before any event the stream
    clock falls back to the wall clock."""

    def __init__(self, mode: Literal["wall", "stream"]) -> None:
        self.mode = mode
        self.stream_time: float | None = None

    def observe(self, event_time: float) -> None:
        if self.stream_time is None or event_time > self.stream_time:
            self.stream_time = event_time

    def now(self) -> float:
        if self.mode == "stream" and self.stream_time is not None:
            return self.stream_time
        return time.time()


_RAISE_TO = """
local cur = redis.call('GET', KEYS[1])
if not cur or tonumber(ARGV[1]) > tonumber(cur) then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return cur
"""


class SharedStreamClock:
    """With several workers each sees only its partitions' events, so a per-worker stream
    time would end each worker's windows at a different "now". Workers raise one shared
    maximum in Redis and all adopt it (stream mode only; a second of staleness at most)."""

    def __init__(self, redis: Any, key: str, clock: Clock) -> None:
        self.redis = redis
        self.key = key
        self.clock = clock
        self._script = redis.register_script(_RAISE_TO)

    async def sync(self) -> None:
        """Raise the shared time to ours and adopt it; a worker that has seen no event yet
        (one that joined after the traffic) adopts the shared time too."""
        if self.clock.stream_time is None:
            shared = await self.redis.get(self.key)
        else:
            shared = await self._script(keys=[self.key], args=[repr(self.clock.stream_time)])
        if shared is not None:
            self.clock.observe(float(shared))
