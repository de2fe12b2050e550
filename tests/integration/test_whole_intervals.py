"""Closed reporting intervals written whole on a real Redis: one compressed value in place of
their split hashes, read back to the same counts; a late event's increments split beside it
and summed on load; dropped and written back like any bucket."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from ccmon.agents.domain.effects import Effects, StateLimits
from ccmon.agents.domain.expiry import apply_tick
from ccmon.agents.domain.partition import Progress, Writes
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.reading import BUCKETS_PER_READ, bucket_reads
from ccmon.agents.partitions.statestore import StateStore
from ccmon.streams.config import QueueConfig
from tests.support.services import RedisServer
from tests.support.statestore import STORE_TTL, Written, forget_prefix, written_back

FIRST = 29_000_010  # an epoch minute: the first interval's start
STARTS = [FIRST + 30 * n for n in range(4)]
QUEUES = [f"{channel}|q{n}" for channel in ("call", "chat") for n in range(40)]


def _counted() -> Writes:
    """Four 30-minute intervals of 80 queues, with their source offsets, all closed."""
    writes = Writes(progress=Progress(rp=9, n=9, ev=STARTS[-1] * 60.0, rec=FIRST * 60.0 + 86400))
    for i, start in enumerate(STARTS):
        bucket = ("p", str(start))
        writes.incr[bucket] = {
            cq: {"off": 3.0 + n + i, "wait_ms": 12_345.0 * (n + 1)} for n, cq in enumerate(QUEUES)
        }
        writes.low[bucket] = {f"{cq}|<call:0": 100.0 * i + n for n, cq in enumerate(QUEUES)}
        writes.high[bucket] = {f"{cq}|>call:0": 100.0 * i + n + 50 for n, cq in enumerate(QUEUES)}
    return writes


def test_a_load_reads_an_interval_split_and_whole_in_the_same_read() -> None:
    names = [f"{{P:0}}:p:{29_000_000 + n}" for n in range(BUCKETS_PER_READ + 1)]
    both = [*names, names[BUCKETS_PER_READ - 1] + ":w", names[0] + ":w"]
    reads = bucket_reads(both)
    assert [len(r) for r in reads] == [BUCKETS_PER_READ + 2, 1]
    assert names[BUCKETS_PER_READ - 1] + ":w" in reads[0]


async def _whole(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, STORE_TTL)
    policy = QueueConfig().policy
    try:
        written = await Written.owned(store, 0)
        state, write = written.state, written.write
        await write(_counted())
        name = store.bucket_key(0, ("p", str(STARTS[0])))
        split = [k async for k in redis.scan_iter(match=f"{name}:*")]
        split_bytes = sum([await redis.memory_usage(k) or 0 for k in split])

        # The tick writes the closed intervals whole: one string each, its hashes gone.
        fx = Effects(state, StateLimits())
        apply_tick(fx, STARTS[-1] * 60.0, policy)
        assert sorted(fx.writes.whole) == [("p", str(s)) for s in STARTS]
        await write(fx.writes)
        assert [k async for k in redis.scan_iter(match=f"{name}:*")] == [f"{name}:w".encode()]
        assert await redis.type(f"{name}:w") == b"string"
        assert 0 < await redis.ttl(f"{name}:w") <= STORE_TTL["p"]
        index = store.keys.first(0)[1]
        # The index names the value, not the split hashes: a load reads one key.
        assert {n.decode() for n in await redis.smembers(index)} == {
            store.bucket_key(0, ("p", str(s))) + ":w" for s in STARTS
        }
        whole_bytes = await redis.memory_usage(f"{name}:w") or 0
        assert whole_bytes * 3 < split_bytes, (whole_bytes, split_bytes)
        raw = await store.load(0)
        assert raw.whole == {("p", str(s)) for s in STARTS}
        loaded = PartitionState.from_raw(0, raw)
        assert loaded.periods == state.periods and not loaded.split
        fx = Effects(loaded, StateLimits())
        apply_tick(fx, STARTS[-1] * 60.0, policy)
        assert not fx.writes.whole  # nothing is written twice

        # A late event: its increment and its lower offset go split, beside the value, and
        # a load combines them (sum, lowest). Written whole in the same write as another
        # late event's increment: the value holds the counts before, the hashes the rest.
        late = Writes(incr={("p", str(STARTS[1])): {"call|q3": {"off": 1.0}}})
        late.low[("p", str(STARTS[1]))] = {"call|q3|<call:0": 7.0}
        late.whole[("p", str(STARTS[2]))] = state.interval(STARTS[2])
        late.incr[("p", str(STARTS[2]))] = {"chat|q5": {"off": 2.0, "ab": 1.0}}
        await write(late)
        assert state.periods["call|q3"][STARTS[1]]["<call:0"] == 7.0
        revised = store.bucket_key(0, ("p", str(STARTS[1])))
        assert await redis.sismember(index, revised) and await redis.sismember(
            index, f"{revised}:w"
        )
        raw = await store.load(0)
        assert raw.whole == {("p", str(STARTS[0])), ("p", str(STARTS[3]))}
        loaded = PartitionState.from_raw(0, raw)
        assert loaded.periods == state.periods
        assert dict(loaded.periods["chat|q5"][STARTS[2]]) == {
            "off": 3.0 + 45 + 2 + 2,
            "wait_ms": 12_345.0 * 46,
            "<call:0": 245.0,
            ">call:0": 295.0,
            "ab": 1.0,
        }

        # Dropped with every key of the bucket.
        await write(Writes(drop=[("p", str(STARTS[0])), ("p", str(STARTS[1]))]))
        assert not [k async for k in redis.scan_iter(match=f"{name}*")]
        assert not [k async for k in redis.scan_iter(match=f"{revised}*")]
        assert not {name, f"{name}:w", revised, f"{revised}:w"} & {
            n.decode() for n in await redis.smembers(index)
        }

        # Written back (Redis lost writes): whole values replaced by the copy, split; the
        # state knows it, and the next ticks write them whole again.
        held, again = await written_back(store, 0)
        assert held.periods == state.periods and again.periods == state.periods
        assert not [k async for k in redis.scan_iter(match=f"{{{prefix}:0}}:p:*:w")]
        assert again.split == set(STARTS[2:]) and held.split == set(STARTS[2:])
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_closed_intervals_are_written_whole_and_read_back_with_their_revisions(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_whole(redis_server.url, unique_name))
