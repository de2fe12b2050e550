"""The counting state in Redis: per repartition partition, hashes of counters and live
contacts, the last position counted per origin and the duplicate guard, written together by
one Lua script per batch step, fenced by the owner's Kafka group generation and chained by a
write sequence.

Key layout (``P`` = ``CCMON_REDIS_PREFIX``, ``p`` = partition). ``{P:p}`` is a hash tag:
every key of a partition lives in one Redis Cluster slot, and a script call touches one
partition's keys only, every one of them declared in KEYS.

- ``{P:p}:meta`` hash: ``gen`` the fence (the group generation of the owner's assignment),
  ``seq`` the write sequence and ``wid`` the id of the last write, ``rp``, ``ev``, ``evw``,
  ``n``, ``gone`` how far the partition has counted (``domain.partition.Progress``);
- ``{P:p}:t`` cumulative totals, ``{P:p}:m:<epoch minute>:<shard>`` 1-minute buckets
  (split by channel x queue, :mod:`ccmon.agents.partitions.layout`), ``{P:p}:d:<local day>``
  daily buckets, ``{P:p}:p:<minute>`` reporting intervals: hashes whose fields are
  ``channel|queue|name``;
- ``{P:p}:l`` live contacts and tickets: field ``["channel|queue", contact id]`` (JSON),
  value the entry (JSON);
- ``{P:p}:idx`` the names of the bucket hashes (a worker loads a partition from it);
- ``{P:p}:pos`` the last position counted per origin (``call:2`` -> offset): what tells a
  record read again, however late, from a new one;
- ``{P:p}:dg:<event minute>:<shard>`` the duplicate guard: hashes of 64-bit digests of the
  events' ``channel:event_id``, per minute of event time, split into ``shards`` hashes of
  about 64 (``{P:p}:gi``: minute -> shards, ``n:<minute>`` -> entries). The owner drops a
  minute once the partition's event time is ``CCMON_DEDUPE_TTL_SECONDS`` past it; a TTL of
  that plus an hour is the backstop. An event always lands in the partition of its channel
  x queue, so its duplicates meet its guard there. ccmon 0.3 kept one key per event
  (``{P:p}:g:<channel>:<event_id>``): read for a day after the upgrade.

Why atomic: the guard, the positions and the state change they stand for become durable
together or not at all. Why a sequence: Redis can lose its *last* writes and keep the rest
(a snapshot, AOF ``everysec``, a failover to a replica that lagged). Each write names the
write it follows (``seq``, ``wid``); Redis behind that is found at the next write
(``lost``), and a write whose reply was lost is recognised when it is sent again (``done``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson
from redis.exceptions import RedisClusterUnreachableError, RedisError, SlotNotCoveredError

from ccmon.agents.domain.partition import (
    Bucket,
    GuardKey,
    Progress,
    RawPartition,
    Writes,
    live_field,
)
from ccmon.agents.partitions import lua
from ccmon.agents.partitions.guard import Guard, guard_index
from ccmon.agents.partitions.layout import (
    Keys,
    bucket_shard,
    combine,
    is_sharded,
    live_shard,
    text,
    texts,
)
from ccmon.streams.store.connect import RedisClient

log = logging.getLogger(__name__)

# Bucket hashes read per round trip when a partition loads. Why not all at once: a week's
# state is mostly reporting intervals (kept CCMON_RECORD_REVISION_DAYS + 2 days), and the
# whole reply, decoded, took several times the state it builds: a worker that took over a
# restarted one's partitions kept that peak as resident memory (docs/benchmarks.md, "Soak").
BUCKETS_PER_READ = 32


def bucket_reads(names: Sequence[str]) -> list[Sequence[str]]:
    return [names[i : i + BUCKETS_PER_READ] for i in range(0, len(names), BUCKETS_PER_READ)]


@dataclass(frozen=True)
class Token:
    """What a write carries: the owner's group generation (the fence), and the write Redis
    must hold last for the write to apply: its sequence number and id."""

    gen: int
    seq: int = 0
    wid: str = ""

    def after(self, wid: str) -> Token:
        return Token(self.gen, self.seq + 1, wid)


@dataclass(frozen=True)
class Outcome:
    """``ok``; ``done`` (this very write was applied already: its reply was lost);
    ``fenced`` (Redis names a newer generation than ours); ``nofence`` (Redis has nothing
    of the partition: restarted without its data); ``lost`` (Redis is not at the write we
    hold last: it lost writes, or another writer of an older generation wrote meanwhile).
    ``gen`` and ``seq`` are Redis's, when it says."""

    status: str
    gen: int | None = None
    seq: int | None = None


def new_write_id() -> str:
    return os.urandom(8).hex()


def _meta(progress: Progress) -> list[str]:
    meta = ["rp", str(progress.rp), "n", str(progress.n), "gone", str(progress.gone)]
    if progress.ev is not None and progress.evw is not None:
        meta += ["ev", repr(progress.ev), "evw", repr(progress.evw)]
    if progress.rec is not None:
        meta += ["rec", repr(progress.rec)]
    return meta


def _flat(pairs: Mapping[str, object]) -> list[str]:
    return [x for k, v in pairs.items() for x in (k, str(v))]


class StateStore:
    def __init__(
        self,
        redis: RedisClient,
        prefix: str,
        guard_ttl_seconds: int,
        bucket_ttl_seconds: Mapping[str, int],
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.guard = Guard(redis, self.keys, guard_ttl_seconds)
        self.bucket_ttl = dict(bucket_ttl_seconds)  # "m" and "d": the safety-net TTL
        self._shards: dict[str, int] = {}
        self._apply = redis.register_script(lua.APPLY)
        self._own = redis.register_script(lua.OWN)
        self._replace = redis.register_script(lua.REPLACE)

    # ---- key names -------------------------------------------------------------------
    def meta_key(self, partition: int) -> str:
        return self.keys.meta(partition)

    def bucket_key(self, partition: int, bucket: Bucket) -> str:
        return self.keys.bucket(partition, *bucket)

    def _bucket_of(self, partition: int, key: str) -> Bucket:
        return _split_bucket(key[len(self.keys.base(partition)) + 1 :])

    # ---- operations ------------------------------------------------------------------
    async def take_ownership(
        self, partition: int, gen: int, force: bool = False
    ) -> tuple[Outcome, dict[str, str]]:
        """Raise the partition's fence to our group generation; ``fenced`` (with Redis's
        generation) when it names a newer one, unless ``force``. Answers its meta."""
        reply = await self._own(keys=[self.meta_key(partition)], args=[gen, "1" if force else "0"])
        status, *rest = (text(r) for r in reply)
        if status == "fenced":
            return Outcome(status, gen=int(rest[0])), {}
        return Outcome(status), dict(zip(rest[::2], rest[1::2], strict=True))

    async def load(self, partition: int) -> RawPartition:
        """Everything stored for the partition (but the guard's events)."""
        raw, names = await self.load_head(partition)
        for chunk in bucket_reads(names):
            raw.buckets.update(await self.read_buckets(partition, chunk))
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
    ) -> dict[Bucket, dict[str, str]]:
        """The bucket hashes named (by :meth:`load_head`), in one round trip."""
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
        buckets = await self._buckets(
            names, lambda key: _split_bucket(key[len(base) + 1 :]), split=False
        )
        return RawPartition(totals=texts(totals), buckets=buckets, live=texts(live))

    async def _buckets(
        self, names: Iterable[bytes | str], bucket_of: Callable[[str], Bucket], split: bool = True
    ) -> dict[Bucket, dict[str, str]]:
        """The bucket hashes an index names (a split bucket: each of its keys), in one round
        trip. A field in two keys of one bucket (written whole by ccmon 0.3, then split) is
        the sum of both."""
        keys = []
        for name in sorted(text(n) for n in names):
            bucket = bucket_of(name)
            many = split and is_sharded(bucket[0])
            keys += [(bucket, key) for key in (self.keys.shards(name) if many else [name])]
        if not keys:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, key in keys:
                pipe.hgetall(key)
            contents = await pipe.execute()
        out: dict[Bucket, dict[str, str]] = {}
        for (bucket, _), content in zip(keys, contents, strict=True):
            if not content:  # expired by its TTL, or a shard with nothing
                continue
            fields = out.setdefault(bucket, {})
            for k, v in texts(content).items():
                fields[k] = combine(k, fields[k], v) if k in fields else v
        return out

    async def seen(
        self, partition: int, guards: Sequence[GuardKey], index: Mapping[int, Sequence[int]]
    ) -> list[str | None]:
        """The guard's answers (:meth:`Guard.seen`)."""
        return await self.guard.seen(partition, guards, index)

    async def apply(self, partition: int, token: Token, writes: Writes, wid: str) -> Outcome:
        keys = self.keys.first(partition)
        index: dict[str, int] = {}

        def key_index(key: str) -> int:
            if key not in index:
                keys.append(key)
                index[key] = len(keys)  # Lua counts from 1
            return index[key]

        def extremes(
            changes: Mapping[Bucket, Mapping[str, float]],
        ) -> list[tuple[Bucket, int, Mapping[str, float]]]:
            """Lowest / highest values, by the key of their channel x queue: only reporting
            intervals keep them."""
            out: list[tuple[Bucket, int, Mapping[str, float]]] = []
            for bucket, fields in changes.items():
                if bucket[0] != "p":
                    raise ValueError(f"lowest / highest values outside an interval {bucket}")
                name = self.bucket_key(partition, bucket)
                by_key: dict[int, dict[str, float]] = {}
                for field, value in fields.items():
                    key = self.keys.shard(name, self._shard_of(field.rpartition("|")[0]))
                    by_key.setdefault(key_index(key), {})[field] = value
                out += [(bucket, i, part) for i, part in by_key.items()]
            return out

        def increments(
            bucket: Bucket, per_cq: Mapping[str, Mapping[str, float]]
        ) -> dict[int, list[str]]:
            """A bucket's increments by the key they go to: field, increment, field...
            Increments as text: Lua would turn a number into 14 significant digits."""
            name = self.bucket_key(partition, bucket)
            shards = self.keys.shards(name) if is_sharded(bucket[0]) else None
            out: dict[int, list[str]] = {}
            for cq, incs in per_cq.items():
                i = key_index(name if shards is None else shards[1 + self._shard_of(cq)])
                flat = out.get(i)
                if flat is None:
                    flat = out[i] = []
                prefix = cq + "|"
                for counter, value in incs.items():
                    if value:
                        flat += (prefix + counter, repr(value))
            return out

        puts, deletes = self._live(partition, writes)
        incr = [
            (bucket, i, flat)
            for bucket, per_cq in writes.incr.items()
            for i, flat in increments(bucket, per_cq).items()
        ]
        low, high = extremes(writes.low), extremes(writes.high)
        touched = {(b, i) for b, i, _ in (*incr, *low, *high) if b[0] != "t"}
        drop_keys: list[int] = []
        for bucket in writes.drop:
            name = self.bucket_key(partition, bucket)
            many = is_sharded(bucket[0])
            drop_keys += [key_index(k) for k in (self.keys.shards(name) if many else [name])]
        document: dict[str, object] = {
            "gen": token.gen,
            "seq": token.seq,
            "prev": token.wid,
            "wid": wid,
            # Per key: its index, then field, increment, field, increment...
            "incr": [[i, *flat] for _, i, flat in incr],
            # The offsets a closed record covers: kept at their lowest / highest value.
            "low": [[i, *_flat({k: repr(v) for k, v in f.items()})] for _, i, f in low],
            "high": [[i, *_flat({k: repr(v) for k, v in f.items()})] for _, i, f in high],
            "touch": [[i, self.bucket_ttl[b[0]]] for b, i in sorted(touched)],
            "index": sorted({self.bucket_key(partition, b) for b, _ in touched}),
            "drop": drop_keys,
            "unindex": [self.bucket_key(partition, b) for b in writes.drop],
            "live": [[key_index(k), *flat] for k, flat in puts],
            "ldel": [[key_index(k), *flat] for k, flat in deletes],
            "pos": _flat(writes.pos),
            "meta": [] if writes.progress is None else _meta(writes.progress),
            "gv": self.guard.version(partition),
        }
        digests = self.guard.write(partition, writes, key_index, document)
        reply = await self._apply(keys=keys, args=[orjson.dumps(document), *digests])
        outcome = _outcome(reply)
        if outcome.status == "guardmap":
            # Redis splits a guard minute otherwise than our copy says: a bug, never data.
            raise RuntimeError(f"partition {partition}: guard index differs from Redis's")
        return outcome

    async def replace(self, partition: int, token: Token, copy: Writes, wid: str) -> Outcome:
        """Write the owner's whole copy (``copy.seed``, ``live``, ``pos``, ``progress``)
        over whatever Redis holds of the partition, as the write after ``token``: Redis
        lost writes, or all of its data, and the copy is what was counted. The guard keeps
        what Redis holds."""
        names = sorted(text(n) for n in await self.redis.smembers(self.keys.first(partition)[1]))
        keys = [*self.keys.first(partition), self.bucket_key(partition, ("t", ""))]
        keys += self.keys.lives(partition)[1:]
        for name in names:
            many = is_sharded(self._bucket_of(partition, name)[0])
            keys += self.keys.shards(name) if many else [name]
        stale = len(keys)

        def add(key: str) -> int:
            keys.append(key)
            return len(keys)

        seed = []
        index = set()
        for bucket, fields in copy.seed.items():
            name = self.bucket_key(partition, bucket)
            ttl = 0 if bucket[0] == "t" else self.bucket_ttl[bucket[0]]
            if ttl:
                index.add(name)
            by_key: dict[str, dict[str, float]] = {}
            for field, value in fields.items():
                key = (
                    self.keys.shard(name, bucket_shard(field.rpartition("|")[0]))
                    if is_sharded(bucket[0])
                    else name
                )
                by_key.setdefault(key, {})[field] = value
            for key, part in by_key.items():
                seed.append([add(key), ttl, *_flat({k: repr(v) for k, v in part.items()})])
        progress = copy.progress or Progress()
        meta = ["gen", str(token.gen), "seq", str(token.seq + 1), "wid", wid, *_meta(progress)]
        document = {
            "gen": token.gen,
            "stale": stale,
            "seed": seed,
            "index": sorted(index),
            "live": [[add(k), *flat] for k, flat in self._live(partition, copy)[0]],
            "pos": _flat(copy.pos),
            "meta": [*meta, *self.guard.version(partition)],
        }
        return _outcome(await self._replace(keys=keys, args=[orjson.dumps(document)]))

    def _shard_of(self, cq: str) -> int:
        """A channel x queue's minute-bucket shard (remembered: a step has thousands of
        fields of a few hundred pairs)."""
        shard = self._shards.get(cq)
        if shard is None:
            shard = self._shards[cq] = bucket_shard(cq)
        return shard

    def _live(
        self, partition: int, writes: Writes
    ) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
        """The live entries a write sets (field, value, field, value...) and those it
        deletes (fields), by key."""
        puts: dict[str, list[str]] = {}
        deletes: dict[str, list[str]] = {}
        keys = self.keys.lives(partition)  # [the one hash, shard 0, shard 1, ...]
        for (cq, contact), value in writes.live.items():
            shard = live_shard(cq, contact)
            key = keys[0 if shard is None else shard + 1]
            if value is None:
                deletes.setdefault(key, []).append(live_field(cq, contact))
            else:
                puts.setdefault(key, []).extend(
                    (live_field(cq, contact), orjson.dumps(value, default=dict).decode())
                )
        return list(puts.items()), list(deletes.items())

    async def counted(self, partitions: int) -> int:
        """Events counted in every partition (what the benchmark watches)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                pipe.hget(self.meta_key(p), "n")
            values = await pipe.execute()
        return sum(int(v) for v in values if v is not None)


def _split_bucket(rest: str) -> Bucket:
    """``m:29000000`` -> (``m``, ``29000000``): a bucket's name after its partition's base
    (a shard's number after it, ``m:29000000:5``, is left out)."""
    kind, _, when = rest.partition(":")
    return kind, when.partition(":")[0]


def _outcome(reply: Sequence[bytes | str]) -> Outcome:
    status, *rest = (text(r) for r in reply)
    gen = int(rest[0]) if rest else None
    seq = int(rest[1]) if len(rest) > 1 else None
    return Outcome(status, gen, seq)


# A cluster client that reaches no node for a slot (a failover under way, every seed down)
# raises these, outside RedisError. Not their base, RedisClusterException: a script whose keys
# span slots raises that too, and that is a bug to crash on, not an outage to wait out.
REDIS_ERRORS = (RedisError, SlotNotCoveredError, RedisClusterUnreachableError, OSError)
