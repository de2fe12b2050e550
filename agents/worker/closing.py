"""Closed records, the worker's part: in each expiry tick the owner of a partition decides the
records due (:mod:`ccmon.agents.domain.records`) in the same fenced write as the expiry,
sends them to the records topic, and once Kafka acknowledged them marks them sent and
updates the wall's cache of the day's intervals (docs/architecture.md, "Decision record:
closed records").

The partition's clock for closing is its own progress while it reads (a backlog, a
replay), and the worker's clock (wall or stream) once it has read everything it was given
and stayed idle for two ticks: a quiet queue's periods close on time, and a partition that
is still catching up does not close what its unread records belong to.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import orjson
from faust import TopicT
from redis.exceptions import RedisError

from ccmon.agents.domain import periods as pd
from ccmon.agents.domain import records
from ccmon.agents.domain.effects import Effects
from ccmon.agents.domain.partition import partition_for
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.worker.runtime import Runtime
from ccmon.agents.worker.sending import RepartitionSender
from ccmon.streams.store import livemodel

log = logging.getLogger(__name__)

Highwater = Callable[[int], int | None]


class Closer:
    def __init__(self, runtime: Runtime, topic: TopicT | None, highwater: Highwater) -> None:
        self.runtime = runtime
        self.topic = topic
        self.highwater = highwater
        self.sender = (
            None
            if topic is None
            else RepartitionSender(topic, runtime.pipeline.send_retries.inc, "records")
        )
        self.counted_at: dict[int, float] = {}  # monotonic time a step last counted events
        # Per partition, per source partition: the latest event time counted from it since
        # this worker took the partition, and when (monotonic) it last brought one. The
        # oldest latest time of the sources still bringing events is how far they all are.
        self.sources: dict[int, dict[str, tuple[float, float]]] = {}
        self._configured: dict[int, list[str]] = {}

    def counted(self, partition: int, times: dict[str, float]) -> None:
        now = time.monotonic()
        self.counted_at[partition] = now
        held = self.sources.setdefault(partition, {})
        for source, ts in times.items():
            latest = held.get(source)
            held[source] = (ts if latest is None else max(ts, latest[0]), now)

    def forget(self, partitions: set[int]) -> None:
        """Partitions no longer ours: their next owner starts from what it reads."""
        for p in partitions:
            self.sources.pop(p, None)
            self.counted_at.pop(p, None)

    def watermark(self, partition: int, own: float) -> float:
        """How far the partition has read every one of its sources: records of a source
        read more slowly (another ingest batch, another topic) are still to come for any
        period after it, so a partition reading a backlog closes no later than that. A
        source that brought nothing for two ticks is quiet, not slow (tickets on a busy
        call partition), and holds nothing back."""
        quiet = time.monotonic() - 2 * self.runtime.settings.tick_interval_seconds
        times = [ts for ts, seen in self.sources.get(partition, {}).values() if seen >= quiet]
        return min(own, *times) if times else own

    def configured(self, partition: int) -> list[str]:
        """The configured channel x queue pairs whose records this partition writes."""
        if partition not in self._configured:
            config, n = self.runtime.config, self.runtime.settings.partitions
            pairs = [
                f"{channel}|{queue}"
                for queue in sorted(config.configured_queues)
                for channel in sorted(config.channels_of(queue))
            ]
            self._configured[partition] = [cq for cq in pairs if partition_for(cq, n) == partition]
        return self._configured[partition]

    def idle(self, partition: int, state: PartitionState) -> bool:
        """Read everything Kafka holds for it, and nothing counted for two ticks."""
        end = self.highwater(partition)
        quiet = 2 * self.runtime.settings.tick_interval_seconds
        recent = time.monotonic() - self.counted_at.get(partition, 0.0) < quiet
        return end is not None and state.progress.rp >= end and not recent

    def decide(self, fx: Effects, partition: int, now: float, own: float) -> int:
        """Decide in ``fx`` the records due; ``now`` the worker's clock, ``own`` the
        partition's (its progress while it reads). Returns how many were decided."""
        clock = now if self.idle(partition, fx.state) else self.watermark(partition, own)
        horizon = clock - self.runtime.settings.record_grace_seconds
        decided = records.close(
            fx, horizon, self.runtime.policy, self.configured(partition), time.time()
        )
        return len(decided)

    async def send(self, fx: Effects) -> list[tuple[str, str]]:
        """Send every record decided and not yet acknowledged (this tick's, and any a crash
        left); returns their markers, to be marked sent."""
        due = records.pending(fx)
        if not due or self.sender is None or self.topic is None:
            return []
        topic = self.topic
        await self.sender.send(
            {}, [functools.partial(topic.send, key=key, value=value) for _, _, key, value in due]
        )
        await self._cache([value for *_, value in due])
        return [(cq, marker) for cq, marker, _, _ in due]

    async def _cache(self, values: list[bytes]) -> None:
        """The wall's copy of the day's interval records (a cache: losing it loses nothing)."""
        prefix = self.runtime.settings.redis_prefix
        try:
            async with self.runtime.redis.pipeline(transaction=False) as pipe:
                for value in values:
                    envelope = orjson.loads(value)
                    content = envelope["content"]
                    if content["period"] != pd.INTERVAL:
                        continue
                    day, _, clock = content["start"].partition("T")
                    key = livemodel.intervals_key(prefix, content["channel"], content["queue"], day)
                    pipe.hset(key, clock[:5], orjson.dumps(summary(envelope)))
                    # Kept past its day's end, not past its last write: a replay of past
                    # days (a restore, the soak's week in an hour) keeps no more than a
                    # live worker does, and a revision never shortens a day's life.
                    day_end = pd.day_bounds(day, content["timezone"])[1]
                    pipe.expireat(key, int(day_end) + livemodel.INTERVALS_TTL_SECONDS)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("the wall's copy of the closed intervals was not written: %s", exc)


def summary(envelope: dict[str, object]) -> dict[str, object]:
    """What the wall draws an interval with (livemodel.INTERVAL_FIELDS)."""
    content = envelope["content"]
    assert isinstance(content, dict)
    sl = content.get("service_level")
    if isinstance(sl, dict):
        figure = sl["profiles"][sl["profile"]]
        good, eligible, target, met = (
            figure["good"],
            figure["eligible"],
            sl["target_ratio"],
            sl["met"],
        )
    else:
        kept = content.get("promises", {})
        good = sum(p["met"] for p in kept.values())
        eligible = good + sum(p["missed"] for p in kept.values())
        target = None
        met = None if not eligible else all(p["kept"] is not False for p in kept.values())
    return {
        "start": content["start"],
        "revision": envelope["revision"],
        "ratio": good / eligible if eligible else None,
        "good": good,
        "eligible": eligible,
        "offered": content["counts"].get("offered", content["counts"].get("tickets_created", 0)),
        "target": target,
        "met": met,
    }
