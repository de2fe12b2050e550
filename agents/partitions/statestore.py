"""The counting state in Redis: per repartition partition, hashes of counters and live
contacts, written together with the duplicate guard by one Lua script per batch.

Key layout (``P`` = ``CCMON_REDIS_PREFIX``, ``p`` = partition):

- ``P:s:p:t`` cumulative totals, ``P:s:p:m:<epoch minute>`` 1-minute buckets,
  ``P:s:p:d:<local day>`` daily buckets: hashes whose fields are ``channel|queue|name``;
- ``P:s:p:l`` live contacts and tickets: field ``["channel|queue", contact id]`` (JSON),
  value the entry (JSON);
- ``P:s:p:idx`` the names of the bucket hashes (a worker loads a partition from it);
- ``P:fence:p`` the owner's token, raised by each new owner: a write that carries an older
  token is refused, so a worker that lost the partition can never write into it again;
- ``P:seen:<event_id>`` the duplicate guard: the source position of the record that carried
  the event first (``channel:partition:offset``), with a TTL;
- ``P:counted`` the number of events counted by all workers of the app.

Why atomic: the guard mark and the state change it stands for become durable together or
not at all, so a record read again after a crash or a rebalance is recognised (same
position) and never counted twice, and an event is never marked without being counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ccmon.agents.domain.partition import Bucket, RawPartition, Writes, live_field

log = logging.getLogger(__name__)

# One JSON argument: cjson decodes it in C, far cheaper than thousands of ARGV strings.
_APPLY = """
local d = cjson.decode(ARGV[1])
local fence = redis.call('GET', KEYS[1])
if not fence then return {'nofence'} end
if fence ~= d.fence then return {'fenced', fence} end
local conflicts = {}
for _, g in ipairs(d.guards) do
  if redis.call('EXISTS', g[1]) == 1 then conflicts[#conflicts + 1] = g[1] end
end
if #conflicts > 0 then
  table.insert(conflicts, 1, 'conflict')
  return conflicts
end
for _, g in ipairs(d.guards) do redis.call('SET', g[1], g[2], 'EX', d.ttl) end
if #d.guards > 0 then redis.call('INCRBY', KEYS[4], #d.guards) end
for _, c in ipairs(d.seed) do redis.call('HSET', c[1], c[2], c[3]) end
for _, c in ipairs(d.incr) do
  for i = 2, #c, 2 do redis.call('HINCRBYFLOAT', c[1], c[i], c[i + 1]) end
end
for _, h in ipairs(d.touch) do
  redis.call('SADD', KEYS[2], h[1])
  redis.call('EXPIRE', h[1], h[2])
end
for _, h in ipairs(d.drop) do
  redis.call('DEL', h)
  redis.call('SREM', KEYS[2], h)
end
for _, s in ipairs(d.hset) do redis.call('HSET', KEYS[3], s[1], s[2]) end
for _, f in ipairs(d.hdel) do redis.call('HDEL', KEYS[3], f) end
return {'ok'}
"""


@dataclass(frozen=True)
class Outcome:
    """``ok``; ``fenced`` (another worker owns the partition now); ``nofence`` (Redis lost
    the owner's token: restarted without its data); ``conflict`` (these event ids were
    marked since they were looked up: look them up again)."""

    status: str
    conflicts: tuple[str, ...] = ()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StateStore:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        guard_ttl_seconds: int,
        bucket_ttl_seconds: Mapping[str, int],
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.guard_ttl = guard_ttl_seconds
        self.bucket_ttl = dict(bucket_ttl_seconds)  # "m" and "d": the safety-net TTL
        self._apply = redis.register_script(_APPLY)

    # ---- key names -------------------------------------------------------------------
    @property
    def counted_key(self) -> str:
        """Events counted by every worker of the app (what the benchmark watches)."""
        return f"{self.prefix}:counted"

    def guard_key(self, event_id: str) -> str:
        return f"{self.prefix}:seen:{event_id}"

    def fence_key(self, partition: int) -> str:
        return f"{self.prefix}:fence:{partition}"

    def bucket_key(self, partition: int, bucket: Bucket) -> str:
        kind, when = bucket
        base = f"{self.prefix}:s:{partition}"
        return f"{base}:t" if kind == "t" else f"{base}:{kind}:{when}"

    def _idx_key(self, partition: int) -> str:
        return f"{self.prefix}:s:{partition}:idx"

    def _live_key(self, partition: int) -> str:
        return f"{self.prefix}:s:{partition}:l"

    def _bucket_of(self, partition: int, key: str) -> Bucket:
        rest = key[len(f"{self.prefix}:s:{partition}:") :]
        kind, _, when = rest.partition(":")
        return kind, when

    # ---- operations ------------------------------------------------------------------
    async def take_ownership(self, partition: int) -> str:
        """Raise the partition's fence: from now on only this token's writes are accepted."""
        return str(await self.redis.incr(self.fence_key(partition)))

    async def load(self, partition: int) -> RawPartition:
        """Everything stored for the partition, in two round trips."""
        idx = self._idx_key(partition)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.smembers(idx)
            pipe.hgetall(self.bucket_key(partition, ("t", "")))
            pipe.hgetall(self._live_key(partition))
            names, totals, live = await pipe.execute()
        keys = sorted(_text(n) for n in names)
        buckets: dict[Bucket, dict[str, str]] = {}
        if keys:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                contents = await pipe.execute()
            for key, content in zip(keys, contents, strict=True):
                if content:  # expired by its TTL: the index entry is stale
                    buckets[self._bucket_of(partition, key)] = {
                        _text(k): _text(v) for k, v in content.items()
                    }
        return RawPartition(
            totals={_text(k): _text(v) for k, v in totals.items()},
            buckets=buckets,
            live={_text(k): _text(v) for k, v in live.items()},
        )

    async def seen(self, event_ids: Sequence[str]) -> list[str | None]:
        """The source position each event id was first counted at, or None."""
        if not event_ids:
            return []
        values = await self.redis.mget([self.guard_key(e) for e in event_ids])
        return [None if v is None else _text(v) for v in values]

    async def apply(self, partition: int, fence: str, writes: Writes) -> Outcome:
        touched = [b for b in {*writes.incr, *writes.seed} if b[0] != "t"]
        document = {
            "fence": fence,
            "ttl": self.guard_ttl,
            "guards": [[self.guard_key(e), src] for e, src in writes.guards],
            # Per bucket: its key, then field, increment, field, increment... Increments as
            # text: Lua would turn a number into 14 significant digits.
            "incr": [
                [self.bucket_key(partition, bucket), *_increments(fields)]
                for bucket, fields in writes.incr.items()
            ],
            "seed": [
                [self.bucket_key(partition, bucket), name, repr(value)]
                for bucket, fields in writes.seed.items()
                for name, value in fields.items()
            ],
            "touch": [[self.bucket_key(partition, b), self.bucket_ttl[b[0]]] for b in touched],
            "drop": [self.bucket_key(partition, b) for b in writes.drop],
            "hset": [
                [live_field(cq, c), orjson.dumps(v).decode()]
                for (cq, c), v in writes.live.items()
                if v is not None
            ],
            "hdel": [live_field(cq, c) for (cq, c), v in writes.live.items() if v is None],
        }
        keys = [
            self.fence_key(partition),
            self._idx_key(partition),
            self._live_key(partition),
            self.counted_key,
        ]
        reply = await self._apply(keys=keys, args=[orjson.dumps(document)])
        status, *rest = (_text(r) for r in reply)
        prefix = self.guard_key("")
        return Outcome(status, tuple(r.removeprefix(prefix) for r in rest if status == "conflict"))


def _increments(fields: Mapping[str, float]) -> list[str]:
    flat: list[str] = []
    for name, value in fields.items():
        if value:
            flat += (name, repr(value))
    return flat


REDIS_ERRORS = (RedisError, OSError)
