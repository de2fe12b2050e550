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
  daily buckets, ``{P:p}:p:<minute>:<shard>`` reporting intervals: hashes whose fields are
  ``channel|queue|name``; once closed, ``{P:p}:p:<minute>:w`` the interval written whole
  (``layout.whole_value``, a few a tick: ``domain.expiry``), and a late event's increments
  in the split hashes beside it again;
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
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
from redis.exceptions import RedisClusterUnreachableError, RedisError, SlotNotCoveredError

from ccmon.agents.domain.packed import Marker, settled
from ccmon.agents.domain.partition import (
    Bucket,
    GuardKey,
    Progress,
    Writes,
    live_field,
)
from ccmon.agents.domain.periods import MARKER
from ccmon.agents.partitions import lua
from ccmon.agents.partitions.guard import Guard
from ccmon.agents.partitions.layout import (
    COMPACT_BYTES,
    LIVE_SHARDS,
    Keys,
    bucket_shard,
    is_sharded,
    live_shard,
    marker_shard,
    text,
    whole_value,
)
from ccmon.agents.partitions.reading import StateReader
from ccmon.streams.store.connect import RedisClient

log = logging.getLogger(__name__)


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


class StateStore(StateReader):
    def __init__(
        self,
        redis: RedisClient,
        prefix: str,
        guard_ttl_seconds: int,
        bucket_ttl_seconds: Mapping[str, int],
    ) -> None:
        super().__init__(redis, prefix, Guard(redis, Keys(prefix), guard_ttl_seconds))
        self.bucket_ttl = dict(bucket_ttl_seconds)  # "m" and "d": the safety-net TTL
        self._shards: dict[str, int] = {}
        self._apply = redis.register_script(lua.APPLY)
        self._own = redis.register_script(lua.OWN)
        self._replace = redis.register_script(lua.REPLACE)

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
        unindex: list[str] = []
        for bucket in writes.drop:
            name = self.bucket_key(partition, bucket)
            names = [name, *([self.keys.whole(name)] if bucket[0] == "p" else [])]
            drop_keys += [key_index(k) for n in names for k in self.keys.bucket_keys(n, bucket[0])]
            unindex += names
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
            "unindex": unindex,
            "live": [[key_index(k), *flat] for k, flat in puts],
            "ldel": [[key_index(k), *flat] for k, flat in deletes],
            "pos": _flat(writes.pos),
            "meta": [] if writes.progress is None else _meta(writes.progress),
            "gv": self.guard.version(partition),
        }
        digests = self.guard.write(partition, writes, key_index, document)
        # Binary, after the guard's digests. The index names the whole value in place of
        # the split hashes: a load reads one key, not 33.
        values = [whole_value(per_cq) for per_cq in writes.whole.values()]
        document["whole"] = [
            {
                "key": key_index(self.keys.whole(name)),
                "value": 2 + len(digests) + n,
                "ttl": self.bucket_ttl["p"],
                "split": [key_index(k) for k in self.keys.shards(name)],
                "name": name,
                "as": self.keys.whole(name),
            }
            for n, name in enumerate(self.bucket_key(partition, b) for b in writes.whole)
        ]
        args = [orjson.dumps(document), *digests, *values]
        reply = await self._apply(keys=keys, args=args)
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
            keys += self.keys.bucket_keys(name, self._bucket_of(partition, name)[0])
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
        puts: dict[str, list[str]] = defaultdict(list)
        deletes: dict[str, list[str]] = defaultdict(list)
        keys = self.keys.lives(partition)  # [the one hash, shard 0, shard 1, ...]
        for (cq, contact), value in writes.live.items():
            shard = live_shard(cq, contact)
            key = keys[0 if shard is None else shard + 1]
            field = live_field(cq, contact)
            # A record marker: settled, its text in a marker hash; otherwise (pending, marked
            # by a late event: long values) in the one hash. Never in both.
            other = (
                keys[1 + LIVE_SHARDS + marker_shard(field)] if contact.startswith(MARKER) else None
            )
            if value is None:
                deletes[key].append(field)
                if other is not None:
                    deletes[other].append(field)
                continue
            held = settled(value) if other is not None else value
            text = held.text() if isinstance(held, Marker) else ""
            if other is not None and text and len(text) <= COMPACT_BYTES:
                key, other = other, key
            else:
                text = orjson.dumps(value, default=dict).decode()
            puts[key] += (field, text)
            if other is not None:
                deletes[other].append(field)
        return list(puts.items()), list(deletes.items())


def _outcome(reply: Sequence[bytes | str]) -> Outcome:
    status, *rest = (text(r) for r in reply)
    gen = int(rest[0]) if rest else None
    seq = int(rest[1]) if len(rest) > 1 else None
    return Outcome(status, gen, seq)


# A cluster client that reaches no node for a slot (a failover under way, every seed down)
# raises these, outside RedisError. Not their base, RedisClusterException: a script whose keys
# span slots raises that too, and that is a bug to crash on, not an outage to wait out.
REDIS_ERRORS = (RedisError, SlotNotCoveredError, RedisClusterUnreachableError, OSError)
