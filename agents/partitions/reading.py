"""Reading a partition's state from Redis (:mod:`ccmon.agents.partitions.statestore` writes
it): the whole of it when a worker takes the partition, its buckets a few at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ccmon.agents.domain.partition import Bucket, RawPartition
from ccmon.agents.partitions.guard import Guard, guard_index
from ccmon.agents.partitions.layout import WHOLE, combine, text, texts, whole_fields
from ccmon.streams.store.connect import RedisClient

# Bucket hashes read per round trip when a partition loads. Why not all at once: a week's
# state is mostly reporting intervals (kept CCMON_RECORD_REVISION_DAYS + 2 days), and the
# whole reply, decoded, took several times the state it builds: a worker that took over a
# restarted one's partitions kept that peak as resident memory (docs/benchmarks.md, "Soak").
BUCKETS_PER_READ = 32


def bucket_reads(names: Sequence[str]) -> list[Sequence[str]]:
    """The index's names, ``BUCKETS_PER_READ`` buckets a read: an interval's split name and
    its whole one (:data:`WHOLE`) in the same read, as a load adds them up."""
    by_bucket: dict[str, list[str]] = {}
    for name in sorted(names):
        by_bucket.setdefault(name.removesuffix(WHOLE), []).append(name)
    groups = list(by_bucket.values())
    return [
        [name for group in groups[i : i + BUCKETS_PER_READ] for name in group]
        for i in range(0, len(groups), BUCKETS_PER_READ)
    ]


class StateReader:
    """What :class:`ccmon.agents.partitions.statestore.StateStore` reads."""

    def __init__(self, redis: RedisClient, prefix: str, guard: Guard) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = guard.keys
        self.guard = guard

    # ---- key names -------------------------------------------------------------------
    def meta_key(self, partition: int) -> str:
        return self.keys.meta(partition)

    def bucket_key(self, partition: int, bucket: Bucket) -> str:
        return self.keys.bucket(partition, *bucket)

    def _bucket_of(self, partition: int, key: str) -> Bucket:
        return split_bucket(key[len(self.keys.base(partition)) + 1 :])

    async def load(self, partition: int) -> RawPartition:
        """Everything stored for the partition (but the guard's events)."""
        raw, names = await self.load_head(partition)
        for chunk in bucket_reads(names):
            buckets, whole = await self.read_buckets(partition, chunk)
            raw.buckets.update(buckets)
            raw.whole |= whole
        return raw

    async def load_head(self, partition: int) -> tuple[RawPartition, list[str]]:
        """The partition without its bucket hashes, in one round trip, and the names of
        those (:meth:`read_buckets` reads them, a few at a time: see :func:`bucket_reads`)."""
        meta_key, idx, _, pos_key, gi = self.keys.first(partition)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(meta_key)
            pipe.smembers(idx)
            pipe.hgetall(self.bucket_key(partition, ("t", "")))
            pipe.hgetall(pos_key)
            pipe.hgetall(gi)
            for key in self.keys.lives(partition):
                pipe.hgetall(key)
            meta, names, totals, pos, guard, *lives = await pipe.execute()
        live = {k: v for part in lives for k, v in part.items()}
        meta = texts(meta)
        self.guard.loaded(partition, meta)
        raw = RawPartition(
            totals=texts(totals),
            buckets={},
            live=texts(live),
            pos=texts(pos),
            meta=meta,
            guard=guard_index(texts(guard)),
        )
        return raw, sorted(text(n) for n in names)

    async def read_buckets(
        self, partition: int, names: Iterable[str]
    ) -> tuple[dict[Bucket, dict[str, str]], set[Bucket]]:
        """The buckets named (by :meth:`load_head`), in one round trip, and the intervals
        among them that Redis holds written whole only."""
        return await self._buckets(names, lambda key: self._bucket_of(partition, key))

    async def load_legacy(self, partition: int) -> RawPartition | None:
        """The partition as ccmon 0.2 stored it (``P:s:p:*``, fenced by ``P:fence:p``), or
        None when there is none: what the first owner of 0.3 moves to this layout."""
        base = f"{self.prefix}:s:{partition}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.exists(f"{self.prefix}:fence:{partition}")
            pipe.smembers(f"{base}:idx")
            pipe.hgetall(f"{base}:t")
            pipe.hgetall(f"{base}:l")
            fenced, names, totals, live = await pipe.execute()
        if not (fenced or names or totals or live):
            return None
        buckets, _ = await self._buckets(
            names, lambda key: split_bucket(key[len(base) + 1 :]), split=False
        )
        return RawPartition(totals=texts(totals), buckets=buckets, live=texts(live))

    async def _buckets(
        self, names: Iterable[bytes | str], bucket_of: Callable[[str], Bucket], split: bool = True
    ) -> tuple[dict[Bucket, dict[str, str]], set[Bucket]]:
        """The buckets an index names (a split bucket: each of its keys), in one round trip,
        and the intervals held written whole only. A field in two keys of one bucket (written
        whole by ccmon 0.3, then split; an interval written whole, then revised) is combined
        (:func:`layout.combine`)."""
        keys = []
        for name in sorted(text(n) for n in names):
            bucket = bucket_of(name)
            many = self.keys.bucket_keys(name, bucket[0]) if split else [name]
            keys += [(bucket, key) for key in many]
        out: dict[Bucket, dict[str, str]] = {}
        if not keys:
            return out, set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, key in keys:
                if key.endswith(WHOLE):
                    pipe.get(key)
                else:
                    pipe.hgetall(key)
            contents = await pipe.execute()
        whole: set[Bucket] = set()
        hashes: set[Bucket] = set()
        for (bucket, _), content in zip(keys, contents, strict=True):
            if not content:  # expired by its TTL, or a shard with nothing
                continue
            if isinstance(content, bytes):
                whole.add(bucket)
                held = whole_fields(content)
            else:
                hashes.add(bucket)
                held = texts(content)
            fields = out.setdefault(bucket, {})
            for k, v in held.items():
                fields[k] = combine(k, fields[k], v) if k in fields else v
        return out, whole - hashes

    async def counted(self, partitions: int) -> int:
        """Events counted in every partition (what the benchmark watches)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                pipe.hget(self.meta_key(p), "n")
            values = await pipe.execute()
        return sum(int(v) for v in values if v is not None)


def split_bucket(rest: str) -> Bucket:
    """``m:29000000`` -> (``m``, ``29000000``): a bucket's name after its partition's base
    (a shard's number after it, ``m:29000000:5``, is left out)."""
    kind, _, when = rest.partition(":")
    return kind, when.partition(":")[0]
