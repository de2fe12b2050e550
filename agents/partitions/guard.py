"""The duplicate guard in Redis: which events a partition has counted, by a 64-bit digest of
their ``channel:event_id``, in hashes per minute of event time split into shards of about 64
(:mod:`ccmon.agents.partitions.layout`), written by the state script with the step they
belong to (:mod:`ccmon.agents.partitions.statestore`).

The owner drops a minute's hashes once the partition's event time is
``CCMON_DEDUPE_TTL_SECONDS`` past it (:mod:`ccmon.agents.domain.expiry`), whatever the wall
clock says; a TTL of that plus an hour, renewed by each write, is the backstop for a
partition nobody owns any more. ccmon 0.3 kept one key per event; a partition it wrote has
those looked up too, for the guard's TTL from its first load in this version.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from ccmon.agents.domain.partition import GuardKey, Writes
from ccmon.agents.partitions.layout import Keys, guard_digest, guard_shard, text
from ccmon.streams.store.connect import RedisClient

# The guard's keys also expire on the wall clock, an hour after the guard's time since they
# were last written: a partition nobody owns any more, or whose event time stops, does not
# keep them for ever.
GUARD_TTL_MARGIN_SECONDS = 3600


class Guard:
    def __init__(self, redis: RedisClient, keys: Keys, ttl_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl = ttl_seconds
        # Until when a partition may hold guards of ccmon 0.3's layout (wall time).
        self.legacy: dict[int, float] = {}

    def loaded(self, partition: int, meta: Mapping[str, str]) -> None:
        """A partition that ccmon 0.3 wrote (a write sequence, no guard version) holds its
        guard as one key per event: looked up too, for the guard's TTL from now."""
        until = None
        if "gl" in meta:
            until = float(meta["gl"])
        elif "seq" in meta and "gv" not in meta:
            until = time.time() + self.ttl
        if until is not None and until > time.time():
            self.legacy[partition] = until
        else:
            self.legacy.pop(partition, None)

    async def seen(
        self, partition: int, guards: Sequence[GuardKey], index: Mapping[int, Sequence[int]]
    ) -> list[str | None]:
        """Whether each event (guard id, event minute) was counted: ``""`` when this layout's
        guard holds it (the source position of a record that has no position), the first
        source position when ccmon 0.3's does, else None. ``index``: the partition's guard
        buckets (minute -> shards, ...)."""
        answers: list[str | None] = [None] * len(guards)
        asks: dict[str, list[tuple[int, bytes]]] = {}
        for i, (gid, minute) in enumerate(guards):
            held = index.get(minute)
            if held is None:
                continue  # a minute with no guard yet: nothing to find
            digest = guard_digest(gid)
            key = self.keys.guard(partition, minute, guard_shard(digest, held[0]))
            asks.setdefault(key, []).append((i, digest))
        if asks:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, items in asks.items():
                    pipe.hmget(key, [digest for _, digest in items])
                replies = await pipe.execute()
            for items, reply in zip(asks.values(), replies, strict=True):
                for (i, _), value in zip(items, reply, strict=True):
                    if value is not None:
                        answers[i] = text(value)
        if self.legacy.get(partition, 0.0) > time.time():
            unknown = [i for i, answer in enumerate(answers) if answer is None]
            if unknown:
                keys = [self.keys.legacy_guard(partition, guards[i][0]) for i in unknown]
                for i, value in zip(unknown, await self.redis.mget(keys), strict=True):
                    answers[i] = None if value is None else text(value)
        return answers

    def write(
        self,
        partition: int,
        writes: Writes,
        key_index: Callable[[str], int],
        document: dict[str, object],
    ) -> list[bytes]:
        """The guard's part of a write: digests by shard key (returned, in the order of
        ``document["guards"]``), the index of every minute written, the minutes dropped."""
        shards_of = writes.guard_shards
        by_key: dict[int, list[bytes]] = {}
        per_minute: Counter[int] = Counter()
        indexes: dict[tuple[int, int], int] = {}
        sources = writes.guard_src
        for gid, minute in writes.guards:
            digest = guard_digest(gid)
            where = (minute, guard_shard(digest, shards_of[minute]))
            i = indexes.get(where)
            if i is None:
                i = indexes[where] = key_index(self.keys.guard(partition, *where))
            value = sources.get((gid, minute), "").encode() if sources else b""
            by_key.setdefault(i, []).extend((digest, value))
            per_minute[minute] += 1
        document["guards"] = [[i, len(d) // 2] for i, d in by_key.items()]
        document["gmap"] = [[str(m), shards_of[m], n] for m, n in sorted(per_minute.items())]
        document["gttl"] = self.ttl + GUARD_TTL_MARGIN_SECONDS
        drops = []
        for minute, shards in sorted(writes.guard_drop.items()):
            shard_keys = [key_index(self.keys.guard(partition, minute, s)) for s in range(shards)]
            drops.append([str(minute), *shard_keys])
        document["gdrop"] = drops
        return [d for digests in by_key.values() for d in digests]

    def version(self, partition: int) -> list[str]:
        """Meta fields every write sets: this guard layout, and until when ccmon 0.3's is
        looked up too."""
        until = self.legacy.get(partition)
        return ["gv", "2"] if until is None else ["gv", "2", "gl", repr(until)]


def guard_index(held: Mapping[str, str]) -> dict[int, tuple[int, int]]:
    """``{P:p}:gi`` as minute -> (shards, entries)."""
    return {
        int(minute): (int(shards), int(held.get(f"n:{minute}", "0")))
        for minute, shards in held.items()
        if not minute.startswith("n:")
    }
