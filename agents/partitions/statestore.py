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
- ``{P:p}:t`` cumulative totals, ``{P:p}:m:<epoch minute>`` 1-minute buckets,
  ``{P:p}:d:<local day>`` daily buckets: hashes whose fields are ``channel|queue|name``;
- ``{P:p}:l`` live contacts and tickets: field ``["channel|queue", contact id]`` (JSON),
  value the entry (JSON);
- ``{P:p}:idx`` the names of the bucket hashes (a worker loads a partition from it);
- ``{P:p}:pos`` the last position counted per origin (``call:2`` -> offset): what tells a
  record read again, however late, from a new one;
- ``{P:p}:g:<channel>:<event_id>`` the duplicate guard: the source position of the record
  that carried the event first, with a TTL (an event always lands in the partition of its
  channel x queue, so its duplicates meet its guard there).

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

from ccmon.agents.domain.partition import Bucket, Progress, RawPartition, Writes, live_field
from ccmon.streams.store.connect import RedisClient

log = logging.getLogger(__name__)

# KEYS: meta, idx, live, pos, then bucket keys, then guard keys; the document (one JSON
# argument: cjson decodes it in C) refers to keys by their index. Values of HSET and
# HINCRBYFLOAT in chunks: Lua's unpack() fails beyond a few thousand values.
_APPLY = """
local d = cjson.decode(ARGV[1])
local m = redis.call('HMGET', KEYS[1], 'gen', 'seq', 'wid')
if not m[1] then return {'nofence'} end
if tonumber(m[1]) > d.gen then return {'fenced', m[1]} end
local wid = m[3] or ''
if wid == d.wid then return {'done'} end
local seq = tonumber(m[2] or '0')
if tonumber(m[1]) < d.gen or seq ~= d.seq or wid ~= d.prev then
  return {'lost', m[1], tostring(seq)}
end
local function hset(key, flat)
  for i = 1, #flat, 1000 do
    redis.call('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end
for i, src in ipairs(d.guards) do redis.call('SET', KEYS[d.g + i], src, 'EX', d.ttl) end
for _, c in ipairs(d.incr) do
  local k = KEYS[c[1]]
  for i = 2, #c, 2 do redis.call('HINCRBYFLOAT', k, c[i], c[i + 1]) end
end
for _, c in ipairs(d.low) do
  local k = KEYS[c[1]]
  for i = 2, #c, 2 do
    local v = redis.call('HGET', k, c[i])
    if not v or tonumber(v) > tonumber(c[i + 1]) then redis.call('HSET', k, c[i], c[i + 1]) end
  end
end
for _, c in ipairs(d.high) do
  local k = KEYS[c[1]]
  for i = 2, #c, 2 do
    local v = redis.call('HGET', k, c[i])
    if not v or tonumber(v) < tonumber(c[i + 1]) then redis.call('HSET', k, c[i], c[i + 1]) end
  end
end
for _, h in ipairs(d.touch) do
  redis.call('SADD', KEYS[2], KEYS[h[1]])
  redis.call('EXPIRE', KEYS[h[1]], h[2])
end
for _, i in ipairs(d.drop) do
  redis.call('DEL', KEYS[i])
  redis.call('SREM', KEYS[2], KEYS[i])
end
hset(KEYS[3], d.hset)
for i = 1, #d.hdel, 1000 do
  redis.call('HDEL', KEYS[3], unpack(d.hdel, i, math.min(i + 999, #d.hdel)))
end
hset(KEYS[4], d.pos)
hset(KEYS[1], d.meta)
redis.call('HSET', KEYS[1], 'seq', d.seq + 1, 'wid', d.wid)
return {'ok'}
"""

# Take a partition: refused when Redis names a newer generation (unless Kafka confirmed
# ours, ARGV[2]); answers the partition's meta as it stands.
_OWN = """
local g = redis.call('HGET', KEYS[1], 'gen')
if g and tonumber(g) > tonumber(ARGV[1]) and ARGV[2] ~= '1' then return {'fenced', g} end
redis.call('HSET', KEYS[1], 'gen', ARGV[1])
local meta = redis.call('HGETALL', KEYS[1])
table.insert(meta, 1, 'ok')
return meta
"""

# Replace the partition with the owner's copy: KEYS meta, idx, live, pos, totals, then the
# bucket hashes Redis holds (deleted), then the copy's (written).
_REPLACE = """
local d = cjson.decode(ARGV[1])
local g = redis.call('HGET', KEYS[1], 'gen')
if g and tonumber(g) > d.gen then return {'fenced', g} end
for i = 1, d.stale do redis.call('DEL', KEYS[i]) end
local function hset(key, flat, from)
  for i = from, #flat, 1000 do
    redis.call('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end
for _, c in ipairs(d.seed) do
  hset(KEYS[c[1]], c, 3)
  if c[2] > 0 then
    redis.call('SADD', KEYS[2], KEYS[c[1]])
    redis.call('EXPIRE', KEYS[c[1]], c[2])
  end
end
hset(KEYS[3], d.live, 1)
hset(KEYS[4], d.pos, 1)
hset(KEYS[1], d.meta, 1)
return {'ok'}
"""


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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
        self.guard_ttl = guard_ttl_seconds
        self.bucket_ttl = dict(bucket_ttl_seconds)  # "m" and "d": the safety-net TTL
        self._apply = redis.register_script(_APPLY)
        self._own = redis.register_script(_OWN)
        self._replace = redis.register_script(_REPLACE)

    # ---- key names -------------------------------------------------------------------
    def _base(self, partition: int) -> str:
        return f"{{{self.prefix}:{partition}}}"

    def meta_key(self, partition: int) -> str:
        return f"{self._base(partition)}:meta"

    def guard_key(self, partition: int, guard: str) -> str:
        return f"{self._base(partition)}:g:{guard}"

    def bucket_key(self, partition: int, bucket: Bucket) -> str:
        kind, when = bucket
        base = self._base(partition)
        return f"{base}:t" if kind == "t" else f"{base}:{kind}:{when}"

    def _keys(self, partition: int) -> list[str]:
        """meta, idx, live, pos: the first KEYS of every script."""
        base = self._base(partition)
        return [f"{base}:meta", f"{base}:idx", f"{base}:l", f"{base}:pos"]

    def _bucket_of(self, partition: int, key: str) -> Bucket:
        return _split_bucket(key[len(self._base(partition)) + 1 :])

    # ---- operations ------------------------------------------------------------------
    async def take_ownership(
        self, partition: int, gen: int, force: bool = False
    ) -> tuple[Outcome, dict[str, str]]:
        """Raise the partition's fence to our group generation; ``fenced`` (with Redis's
        generation) when it names a newer one, unless ``force``. Answers its meta."""
        reply = await self._own(keys=[self.meta_key(partition)], args=[gen, "1" if force else "0"])
        status, *rest = (_text(r) for r in reply)
        if status == "fenced":
            return Outcome(status, gen=int(rest[0])), {}
        return Outcome(status), dict(zip(rest[::2], rest[1::2], strict=True))

    async def load(self, partition: int) -> RawPartition:
        """Everything stored for the partition (but the guard), in two round trips."""
        meta_key, idx, live_key, pos_key = self._keys(partition)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(meta_key)
            pipe.smembers(idx)
            pipe.hgetall(self.bucket_key(partition, ("t", "")))
            pipe.hgetall(live_key)
            pipe.hgetall(pos_key)
            meta, names, totals, live, pos = await pipe.execute()
        buckets = await self._buckets(names, lambda key: self._bucket_of(partition, key))

        def text(h: dict[bytes, bytes]) -> dict[str, str]:
            return {_text(k): _text(v) for k, v in h.items()}

        return RawPartition(
            totals=text(totals),
            buckets=buckets,
            live=text(live),
            pos=text(pos),
            meta=text(meta),
        )

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
        buckets = await self._buckets(names, lambda key: _split_bucket(key[len(base) + 1 :]))
        return RawPartition(
            totals={_text(k): _text(v) for k, v in totals.items()},
            buckets=buckets,
            live={_text(k): _text(v) for k, v in live.items()},
        )

    async def _buckets(
        self, names: Iterable[bytes | str], bucket_of: Callable[[str], Bucket]
    ) -> dict[Bucket, dict[str, str]]:
        """The bucket hashes an index names, in one round trip."""
        keys = sorted(_text(n) for n in names)
        if not keys:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            contents = await pipe.execute()
        return {
            bucket_of(key): {_text(k): _text(v) for k, v in content.items()}
            for key, content in zip(keys, contents, strict=True)
            if content  # expired by its TTL: the index entry is stale
        }

    async def seen(self, partition: int, guards: Sequence[str]) -> list[str | None]:
        """The source position each guard id (``channel:event_id``) was first counted at."""
        if not guards:
            return []
        values = await self.redis.mget([self.guard_key(partition, g) for g in guards])
        return [None if v is None else _text(v) for v in values]

    async def apply(self, partition: int, token: Token, writes: Writes, wid: str) -> Outcome:
        keys = self._keys(partition)
        index: dict[Bucket, int] = {}

        def key_of(bucket: Bucket) -> int:
            if bucket not in index:
                keys.append(self.bucket_key(partition, bucket))
                index[bucket] = len(keys)  # Lua counts from 1
            return index[bucket]

        document: dict[str, object] = {
            "gen": token.gen,
            "seq": token.seq,
            "prev": token.wid,
            "wid": wid,
            "ttl": self.guard_ttl,
            # Per bucket: its key, then field, increment, field, increment... Increments as
            # text: Lua would turn a number into 14 significant digits.
            "incr": [
                [key_of(bucket), *_increments(fields)] for bucket, fields in writes.incr.items()
            ],
            # The offsets a closed record covers: kept at their lowest / highest value.
            "low": [
                [key_of(bucket), *_flat({k: repr(v) for k, v in fields.items()})]
                for bucket, fields in writes.low.items()
            ],
            "high": [
                [key_of(bucket), *_flat({k: repr(v) for k, v in fields.items()})]
                for bucket, fields in writes.high.items()
            ],
            "touch": [
                [key_of(b), self.bucket_ttl[b[0]]]
                for b in {*writes.incr, *writes.low, *writes.high}
                if b[0] != "t"
            ],
            "drop": [key_of(b) for b in writes.drop],
            "hset": [
                x
                for (cq, c), v in writes.live.items()
                if v is not None
                for x in (live_field(cq, c), orjson.dumps(v).decode())
            ],
            "hdel": [live_field(cq, c) for (cq, c), v in writes.live.items() if v is None],
            "pos": _flat(writes.pos),
            "meta": [] if writes.progress is None else _meta(writes.progress),
        }
        document["g"] = len(keys)
        keys += [self.guard_key(partition, g) for g, _ in writes.guards]
        document["guards"] = [src for _, src in writes.guards]
        reply = await self._apply(keys=keys, args=[orjson.dumps(document)])
        return _outcome(reply)

    async def replace(self, partition: int, token: Token, copy: Writes, wid: str) -> Outcome:
        """Write the owner's whole copy (``copy.seed``, ``live``, ``pos``, ``progress``)
        over whatever Redis holds of the partition, as the write after ``token``: Redis
        lost writes, or all of its data, and the copy is what was counted."""
        names = await self.redis.smembers(self._keys(partition)[1])
        stale = [*self._keys(partition), self.bucket_key(partition, ("t", ""))]
        stale += sorted(_text(n) for n in names)
        keys = list(stale)
        seed = []
        for bucket, fields in copy.seed.items():
            key = self.bucket_key(partition, bucket)
            keys.append(key)
            ttl = 0 if bucket[0] == "t" else self.bucket_ttl[bucket[0]]
            seed.append([len(keys), ttl, *_flat({k: repr(v) for k, v in fields.items()})])
        progress = copy.progress or Progress()
        meta = ["gen", str(token.gen), "seq", str(token.seq + 1), "wid", wid, *_meta(progress)]
        document = {
            "gen": token.gen,
            "stale": len(stale),
            "seed": seed,
            "live": [
                x
                for (cq, c), v in copy.live.items()
                if v is not None
                for x in (live_field(cq, c), orjson.dumps(v).decode())
            ],
            "pos": _flat(copy.pos),
            "meta": meta,
        }
        return _outcome(await self._replace(keys=keys, args=[orjson.dumps(document)]))

    async def counted(self, partitions: int) -> int:
        """Events counted in every partition (what the benchmark watches)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for p in range(partitions):
                pipe.hget(self.meta_key(p), "n")
            values = await pipe.execute()
        return sum(int(v) for v in values if v is not None)


def _split_bucket(rest: str) -> Bucket:
    """``m:29000000`` -> (``m``, ``29000000``): a bucket key after its partition's base."""
    kind, _, when = rest.partition(":")
    return kind, when


def _outcome(reply: Sequence[bytes | str]) -> Outcome:
    status, *rest = (_text(r) for r in reply)
    gen = int(rest[0]) if rest else None
    seq = int(rest[1]) if len(rest) > 1 else None
    return Outcome(status, gen, seq)


def _increments(fields: Mapping[str, float]) -> list[str]:
    flat: list[str] = []
    for name, value in fields.items():
        if value:
            flat += (name, repr(value))
    return flat


# A cluster client that reaches no node for a slot (a failover under way, every seed down)
# raises these, outside RedisError. Not their base, RedisClusterException: a script whose keys
# span slots raises that too, and that is a bug to crash on, not an outage to wait out.
REDIS_ERRORS = (RedisError, SlotNotCoveredError, RedisClusterUnreachableError, OSError)
