"""The state script on a real Redis: guards, positions and state together, the fence by
group generation, the write sequence that finds lost writes and recognises a write whose
reply was lost, and the owner writing its copy back after Redis lost its data."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis

from ccmon.agents.domain.packed import Packed
from ccmon.agents.domain.partition import Progress, Writes
from ccmon.agents.domain.state import PartitionState
from ccmon.agents.partitions.owner import Owner
from ccmon.agents.partitions.reading import BUCKETS_PER_READ
from ccmon.agents.partitions.statestore import StateStore, Token, new_write_id
from tests.support.services import RedisServer
from tests.support.statestore import STORE_TTL, forget_prefix

TTL = STORE_TTL
MINUTE = 29000000


def batch(event_id: str, offset: int, offered: float = 1.0) -> Writes:
    writes = Writes(guards=[(f"call:{event_id}", MINUTE)], guard_shards={MINUTE: 1})
    writes.incr[("t", "")] = {"call|sales": {"off": offered}}
    writes.incr[("m", "29000000")] = {"call|sales": {"off": offered}}
    writes.live[("call|sales", event_id)] = {"k": "w", "t": 1.0}
    writes.pos = {"call:0": offset}
    writes.progress = Progress(rp=offset + 1, n=1)
    return writes


async def _scenario(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    try:
        outcome, meta = await store.take_ownership(0, 5)
        assert outcome.status == "ok" and meta == {"gen": "5"}
        token = Token(5)
        wid = new_write_id()
        assert (await store.apply(0, token, batch("e1", 10), wid)).status == "ok"
        token = token.after(wid)
        index = {MINUTE: (1, 1)}
        assert await store.seen(0, [("call:e1", MINUTE), ("ticket:e1", MINUTE)], index) == [
            "",
            None,
        ]
        # The same write again (its reply was lost): recognised, applied once.
        assert (await store.apply(0, Token(5), batch("e1", 10), wid)).status == "done"
        loaded = PartitionState.from_raw(0, await store.load(0))
        assert loaded.totals["call|sales"]["off"] == 1.0
        assert loaded.pos == {"call:0": 10} and loaded.progress.rp == 11

        # A write that does not follow the last one Redis holds: Redis lost writes.
        lost = await store.apply(0, token.after(new_write_id()), batch("e2", 11), new_write_id())
        assert (lost.status, lost.gen, lost.seq) == ("lost", 5, 1)

        # An older generation is refused, also its take-over; a newer one takes over.
        assert (await store.take_ownership(0, 4))[0].status == "fenced"
        assert (await store.take_ownership(0, 6))[0].status == "ok"
        fenced = await store.apply(0, token, batch("e2", 11), new_write_id())
        assert (fenced.status, fenced.gen) == ("fenced", 6)
        # Redis restored from before the take-over (gen 5 again): the newer owner finds it
        # behind; the older one's write is accepted there (it continues what Redis holds),
        # and refused again once the newer one took the partition back.
        await redis.hset(store.meta_key(0), "gen", 5)
        newer = Token(6, token.seq, token.wid)
        assert (await store.apply(0, newer, batch("e2", 11), new_write_id())).status == "lost"
        assert (await store.take_ownership(0, 6))[0].status == "ok"
        wid = new_write_id()
        assert (await store.apply(0, newer, batch("e2", 11), wid)).status == "ok"
        newer = newer.after(wid)
        state = PartitionState.from_raw(0, await store.load(0))
        assert state.totals["call|sales"]["off"] == 2.0
        assert set(state.live["call|sales"]) == {"e1", "e2"}
        assert state.progress.n == 1  # what the writes said

        # The owner's copy written back over whatever Redis holds (it had lost writes).
        copy = PartitionState.from_raw(0, await store.load(0))
        copy.totals["call|sales"]["off"] = 7.0
        copy.minutes.clear()  # a bucket the copy dropped since: gone from Redis too
        wid = new_write_id()
        assert (await store.replace(0, newer, copy.as_seed(), wid)).status == "ok"
        back = PartitionState.from_raw(0, await store.load(0))
        assert back.totals == copy.totals and not back.minutes
        assert back.live == copy.live and back.pos == copy.pos
        assert (
            await store.apply(0, newer.after(wid), batch("e3", 12), new_write_id())
        ).status == "ok"

        # Redis loses everything; the owner writes its copy back and counts on.
        owner = Owner(store)
        owner.assign([1], 9)
        assert await owner.acquire(1) is not None
        for event, offset in (("e1", 1), ("e2", 2)):
            writes = batch(event, offset)
            assert (await owner.write(1, writes)).status == "ok"
            owner.states[1].merge(writes)
        await forget_prefix(redis, prefix)  # what a restart without persistence leaves
        writes = batch("e3", 3)
        assert (await owner.write(1, writes)).status == "ok"
        owner.states[1].merge(writes)
        after = PartitionState.from_raw(1, await store.load(1))
        assert after.totals["call|sales"]["off"] == 3.0
        assert set(after.live["call|sales"]) == {"e1", "e2", "e3"}
        assert after.totals == owner.states[1].totals
        assert after.pos == {"call:0": 3}
        assert await store.counted(2) == after.progress.n
        await owner.close()
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_state_script_guard_fence_sequence_and_write_back(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_scenario(redis_server.url, unique_name))


async def _cluster_ready(url: str, prefix: str) -> None:
    """Every key one script call touches shares the partition's hash tag (a Redis Cluster
    slot), and is declared: a cluster refuses anything else."""
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    try:
        await store.take_ownership(3, 1)
        writes = batch("e1", 1)
        writes.drop.append(("m", "28999000"))
        assert (await store.apply(3, Token(1), writes, new_write_id())).status == "ok"
        keys = [k.decode() async for k in redis.scan_iter(match=f"{{{prefix}:3}}*", count=1000)]
        assert keys and all(k.startswith(f"{{{prefix}:3}}:") for k in keys)
        assert not [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_a_partition_is_one_hash_slot(redis_server: RedisServer, unique_name: str) -> None:
    asyncio.run(_cluster_ready(redis_server.url, unique_name))


async def _extremes(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    interval = store.bucket_key(0, ("p", "29000000"))
    try:
        await store.take_ownership(0, 1)
        # An interval hash as the layout before wrote it, whole (not split by queue).
        await redis.hset(
            interval,
            mapping={"call|sales|off": 2, "call|sales|<call:0": 4, "call|sales|>call:0": 9},
        )
        await redis.sadd(store.keys.first(0)[1], interval)
        writes = batch("e1", 1)
        writes.incr[("p", "29000000")] = {"call|sales": {"off": 1.0}}
        writes.low[("p", "29000000")] = {"call|sales|<call:0": 1}
        writes.high[("p", "29000000")] = {"call|sales|>call:0": 1}
        token = Token(1)
        wid = new_write_id()
        assert (await store.apply(0, token, writes, wid)).status == "ok"
        # Split by channel x queue like a minute bucket: the pair's hash, compact.
        split = [k async for k in redis.scan_iter(match=f"{interval}:*")]
        assert len(split) == 1
        assert await redis.object("encoding", split[0]) == b"listpack"
        assert await redis.hgetall(split[0]) == {
            b"call|sales|off": b"1",
            b"call|sales|<call:0": b"1",
            b"call|sales|>call:0": b"1",
        }
        # Both read: a count is their sum, the offsets the lowest and the highest.
        loaded = PartitionState.from_raw(0, await store.load(0))
        assert dict(loaded.periods["call|sales"][29000000]) == {
            "off": 3.0,
            "<call:0": 1.0,
            ">call:0": 9.0,
        }
        # Lowest / highest values are an interval's alone: refused elsewhere before
        # anything is written (a bug, never data).
        wrong = batch("e2", 2)
        wrong.low[("m", "29000000")] = {"call|sales|<call:0": 2}
        with pytest.raises(ValueError, match="outside an interval"):
            await store.apply(0, token.after(wid), wrong, new_write_id())
        after = PartitionState.from_raw(0, await store.load(0))
        assert after.totals == loaded.totals and after.progress == loaded.progress
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_an_interval_is_split_by_queue_and_read_with_the_whole_hash_before_it(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_extremes(redis_server.url, unique_name))


class _Committed:
    """Kafka's answers for the owner: partition 0 committed up to offset 5."""

    async def committed(self, partition: int) -> int | None:
        return 5

    async def is_current(self, generation: int) -> bool | None:
        return True


async def _upgrade(url: str, prefix: str) -> None:
    """ccmon 0.2's keys (``P:s:p:*``, ``P:fence:p``) moved to this layout by the first owner
    that finds the partition empty here, counted up to the committed offset."""
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    old = f"{prefix}:s:0"
    try:
        await redis.set(f"{prefix}:fence:0", 7)
        await redis.hset(f"{old}:t", mapping={"call|sales|off": 3, "call|sales|ans": 2})
        await redis.hset(f"{old}:m:29000000", mapping={"call|sales|off": 3})
        await redis.sadd(f"{old}:idx", f"{old}:m:29000000")
        await redis.hset(f"{old}:l", '["call|sales","c9"]', '{"k":"w","t":1.0}')
        owner = Owner(store, group=_Committed())
        owner.assign([0], 2)
        state = await owner.acquire(0)
        assert state is not None
        assert state.totals["call|sales"] == {"off": 3.0, "ans": 2.0}
        assert state.minutes["call|sales"][29000000] == {"off": 3.0}
        assert state.live["call|sales"] == {"c9": {"k": "w", "t": 1.0}}
        moved = PartitionState.from_raw(0, await store.load(0))
        assert moved.totals == state.totals and moved.minutes == state.minutes
        assert moved.live == state.live and moved.progress.rp == 5
        await owner.close()
    finally:
        await forget_prefix(redis, prefix)
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def test_the_state_of_ccmon_0_2_is_moved_to_this_layout(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_upgrade(redis_server.url, unique_name))


async def _guard(url: str, prefix: str) -> None:
    """The guard of this layout: digests in hashes per partition, minute of event time and
    shard, compact (listpack), each event found in the shard its minute says; a minute
    dropped (the owner's expiry, on event time) goes as a whole, index included."""
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    try:
        await store.take_ownership(0, 1)
        state = PartitionState(0)
        writes = Writes()
        ids = [f"call:e{i}" for i in range(300)]
        for gid in ids:
            state.add_guard(writes, (gid, MINUTE), len(ids))
        state.add_guard(writes, ("call:e0", MINUTE + 1), len(ids))  # the same id, next minute
        assert writes.guard_shards == {MINUTE: 8, MINUTE + 1: 8}
        wid = new_write_id()
        assert (await store.apply(0, Token(1), writes, wid)).status == "ok"
        state.merge(writes)
        assert state.guard == {MINUTE: [8, 300], MINUTE + 1: [8, 1]}
        loaded = await store.load(0)
        assert loaded.guard == {MINUTE: (8, 300), MINUTE + 1: (8, 1)}
        found = await store.seen(
            0,
            [(g, MINUTE) for g in ids] + [("call:e300", MINUTE), ("call:e1", MINUTE + 1)],
            state.guard,
        )
        assert found == [""] * 300 + [None, None]
        shards = [k async for k in redis.scan_iter(match=f"{{{prefix}:0}}:dg:{MINUTE}:*")]
        assert len(shards) == 8
        for key in shards:
            assert await redis.object("encoding", key) == b"listpack"
            assert 0 < await redis.ttl(key) <= 600 + 3600

        # A record without a position (a staff record of hop 1's timer) keeps its source.
        again = Writes()
        state.add_guard(again, ("call:s1", MINUTE), 1)
        again.guard_src[("call:s1", MINUTE)] = "silence:a1:1.0@call|sales"
        token = Token(1).after(wid)
        wid = new_write_id()
        assert (await store.apply(0, token, again, wid)).status == "ok"
        state.merge(again)
        assert await store.seen(0, [("call:s1", MINUTE)], state.guard) == [
            "silence:a1:1.0@call|sales"
        ]

        tick = Writes(guard_drop={MINUTE: 8})
        assert (await store.apply(0, token.after(wid), tick, new_write_id())).status == "ok"
        state.merge(tick)
        assert state.guard == {MINUTE + 1: [8, 1]}
        assert not [k async for k in redis.scan_iter(match=f"{{{prefix}:0}}:dg:{MINUTE}:*")]
        assert (await store.load(0)).guard == {MINUTE + 1: (8, 1)}
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_the_guard_is_compact_per_minute_and_dropped_whole(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_guard(redis_server.url, unique_name))


async def _upgrade_from_0_3(url: str, prefix: str) -> None:
    """A partition that ccmon 0.3 wrote (one guard key per event, minute buckets and live
    entries in one hash each): its first owner moves the state to this layout, and looks the
    old guard up for the guard's TTL from then on (a later worker too)."""
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    base = f"{{{prefix}:0}}"
    try:
        await store.take_ownership(0, 1)
        await redis.hset(f"{base}:meta", mapping={"seq": 4, "wid": "w4", "rp": 5, "n": 5})
        await redis.set(f"{base}:g:call:e1", "call:0:3", ex=600)
        await redis.hset(f"{base}:t", mapping={"call|sales|off": 2})
        await redis.hset(f"{base}:m:{MINUTE}", mapping={"call|sales|off": 2})
        await redis.sadd(f"{base}:idx", f"{base}:m:{MINUTE}")
        await redis.hset(f"{base}:l", '["call|sales","c9"]', '{"k":"w","t":1.0}')
        owner = Owner(store, group=_Committed())
        owner.assign([0], 2)
        state = await owner.acquire(0)
        assert state is not None
        assert state.minutes["call|sales"][MINUTE] == {"off": 2.0}
        assert state.live["call|sales"] == {"c9": {"k": "w", "t": 1.0}}
        # Moved: nothing left in the whole keys, all of it in this layout's.
        assert not await redis.exists(f"{base}:m:{MINUTE}", f"{base}:l")
        moved = PartitionState.from_raw(0, await store.load(0))
        assert moved.minutes == state.minutes and moved.live == state.live
        assert moved.totals == state.totals and moved.progress.rp == 5
        meta = await redis.hgetall(f"{base}:meta")
        assert meta[b"gv"] == b"2" and float(meta[b"gl"]) > 0
        asked = [("call:e1", MINUTE), ("call:e2", MINUTE)]
        assert await owner.seen(0, asked) == ["call:0:3", None]
        writes = batch("e2", 10)
        assert (await owner.write(0, writes)).status == "ok"
        state.merge(writes)
        await owner.close()
        # A worker started later still looks the old guard up, until its TTL is over.
        later = StateStore(redis, prefix, 600, TTL)
        again = PartitionState.from_raw(0, await later.load(0))
        assert again.minutes["call|sales"][MINUTE] == {"off": 3.0}
        assert await later.seen(0, asked, again.guard) == ["call:0:3", ""]
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_the_state_of_ccmon_0_3_is_moved_and_its_guard_read(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_upgrade_from_0_3(redis_server.url, unique_name))


async def _loaded_in_parts(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    store = StateStore(redis, prefix, 600, TTL)
    try:
        await store.take_ownership(2, 1)
        writes = Writes(progress=Progress(rp=1, n=1, ev=1.0, rec=(MINUTE + 100 * 30) * 60.0))
        for n in range(100):  # two days of 30-minute intervals, all closed
            writes.incr[("p", str(MINUTE + n * 30))] = {"call|sales": {"off": n, "wait_ms": 7}}
        assert (await store.apply(2, Token(1), writes, new_write_id())).status == "ok"

        reads: list[int] = []
        read_buckets = store.read_buckets

        async def counted(partition: int, names: Sequence[str]) -> Any:
            reads.append(len(names))
            return await read_buckets(partition, names)

        store.read_buckets = counted  # type: ignore[method-assign]
        owner = Owner(store)
        owner.assign([2], 2)
        assert await owner.acquire(2) is not None
        assert sum(reads) == 100 and max(reads) == BUCKETS_PER_READ
        whole = PartitionState.from_raw(2, await store.load(2))
        state = owner.states[2]
        assert state.periods == whole.periods and state.totals == whole.totals
        assert state.periods["call|sales"][MINUTE + 99 * 30] == {"off": 99.0, "wait_ms": 7.0}
        assert all(isinstance(c, Packed) for c in state.periods["call|sales"].values())
        assert state.versions["call|sales"] == 1
        await owner.close()
    finally:
        await forget_prefix(redis, prefix)
        await redis.aclose()


def test_an_owner_loads_its_buckets_a_few_at_a_time_and_packs_closed_intervals(
    redis_server: RedisServer, unique_name: str
) -> None:
    asyncio.run(_loaded_in_parts(redis_server.url, unique_name))
