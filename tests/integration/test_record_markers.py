"""Closed records' markers on a real Redis: a settled one as its short text in a compact
marker hash, a pending one (or one a late event marked) as JSON in the partition's one
hash; never both, read back the same, written back the same."""

from __future__ import annotations

import asyncio
import hashlib

import redis.asyncio as aioredis

from ccmon.agents.domain.packed import Marker
from ccmon.agents.domain.partition import Progress, Writes, live_field
from ccmon.agents.domain.periods import marker_key
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.layout import marker_shard
from ccmon.agents.partitions.statestore import StateStore
from tests.support.services import RedisServer
from tests.support.statestore import STORE_TTL, Written, forget_prefix, written_back

QUEUES = [f"call|q{n}" for n in range(60)]
DIGEST = hashlib.sha256(b"a record").hexdigest()


def _marker(start: int, **extra: object) -> dict[str, object]:
    return {"k": "rec", "t": start * 60.0 + 1800, "rev": 1, "h": DIGEST, **extra}


async def _markers(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, STORE_TTL)
    starts = [29_000_010 + 30 * n for n in range(8)]
    try:
        written = await Written.owned(store, 0)
        state, write = written.state, written.write

        # Pending (sent, not acknowledged): JSON, in the one hash.
        pending = Writes(progress=Progress(rp=1, n=1))
        for cq in QUEUES:
            for start in starts:
                key = marker_key("interval", str(start))
                pending.live[(cq, key)] = _marker(start, pend=["id", "a long record " * 20])
        await write(pending)
        one = store.keys.live(0, None)
        assert await redis.hlen(one) == len(QUEUES) * len(starts)
        assert not [k async for k in redis.scan_iter(match=f"{{{prefix}:0}}:r:*")]

        # Acknowledged: settled, moved to the marker hashes as text, compact.
        settled = Writes()
        for cq in QUEUES:
            for start in starts:
                settled.live[(cq, marker_key("interval", str(start)))] = _marker(start)
        await write(settled)
        assert await redis.hlen(one) == 0
        shards = [k async for k in redis.scan_iter(match=f"{{{prefix}:0}}:r:*")]
        assert len(shards) > 100
        assert {await redis.object("encoding", k) for k in shards} == {b"listpack"}
        field = live_field(QUEUES[0], marker_key("interval", str(starts[0])))
        text = await redis.hget(store.keys.marker(0, marker_shard(field)), field)
        assert text is not None and len(text) <= 64
        loaded = PartitionState.from_raw(0, await store.load(0))
        assert loaded.live == state.live
        assert isinstance(loaded.live[QUEUES[0]][marker_key("interval", str(starts[0]))], Marker)

        # A late event marks one: back to JSON in the one hash, gone from its marker hash.
        key = marker_key("interval", str(starts[1]))
        await write(Writes(live={(QUEUES[2], key): _marker(starts[1], dirty=1, late=1)}))
        field = live_field(QUEUES[2], key)
        assert await redis.hexists(one, field)
        assert not await redis.hexists(store.keys.marker(0, marker_shard(field)), field)
        loaded = PartitionState.from_raw(0, await store.load(0))
        assert loaded.live == state.live and loaded.live[QUEUES[2]][key]["dirty"] == 1

        # Expired: deleted wherever it is.
        gone = Writes(live={(QUEUES[2], key): None, (QUEUES[3], key): None})
        await write(gone)
        for cq in (QUEUES[2], QUEUES[3]):
            field = live_field(cq, key)
            assert not await redis.hexists(one, field)
            assert not await redis.hexists(store.keys.marker(0, marker_shard(field)), field)

        # Written back (Redis lost writes): the same layout, the same entries.
        held, again = await written_back(store, 0)
        assert held.live == state.live and again.live == state.live
        assert await redis.hlen(one) == 0
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_settled_markers_are_compact_text_and_the_others_json_never_both(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_markers(redis_server.url, unique_name))
